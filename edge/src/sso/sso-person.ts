/** Who a provider says signed in, in the shape the admission step takes from every kind. */
export interface SsoPerson {
  /** The provider's stable id: OIDC `sub`, GitHub's numeric user id. */
  subject: string;
  email: string | null;
  /** Verified by the provider (or trusted by the admin): only then may it link an existing account. */
  emailVerified: boolean;
  name: string | null;
  /** OIDC: values of the groups claim; GitHub: `org/team-slug`. */
  groups: string[];
}
