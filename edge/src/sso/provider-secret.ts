import { GitHubConfig, LdapConfig, OidcConfig, type SaveProviderRequest } from '@keel/contract/identity';

export type SaveInput = ReturnType<typeof SaveProviderRequest.parse>;

/** A saved provider's config as stored (defaults filled), and its secret apart, with the field that carries it. */
export function splitSecret(input: SaveInput): {
  config: Record<string, unknown>;
  secret: string | undefined;
  field: string;
} {
  switch (input.kind) {
    case 'ldap': {
      const { bindPassword, ...rest } = input.config;
      return { config: LdapConfig.parse(rest), secret: bindPassword, field: 'bindPassword' };
    }
    case 'oidc':
    case 'google':
    case 'entra': {
      const { clientSecret, ...rest } = input.config;
      return { config: OidcConfig.parse(rest), secret: clientSecret, field: 'clientSecret' };
    }
    case 'github': {
      const { clientSecret, ...rest } = input.config;
      return { config: GitHubConfig.parse(rest), secret: clientSecret, field: 'clientSecret' };
    }
  }
}
