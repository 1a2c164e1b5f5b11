import { AuthLayout } from '../../components/auth-layout.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { Link } from '../../router/link.tsx';

export function NotFoundPage() {
  usePageTitle('Page not found');
  return (
    <AuthLayout title="Page not found">
      <p class="muted">There is nothing at this address.</p>
      <p>
        <Link href="/">Go to the home page</Link>
      </p>
    </AuthLayout>
  );
}
