import { AuthLayout } from '../../components/auth-layout.tsx';
import { usePageTitle } from '../../components/page-title.ts';

export function NotFoundPage() {
  usePageTitle('Page not found');
  return (
    <AuthLayout title="Page not found">
      <p class="muted">There is nothing at this address.</p>
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </AuthLayout>
  );
}
