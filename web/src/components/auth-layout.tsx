import type { JSX } from 'solid-js';
import { Brand } from './brand.tsx';

/** The centred card around the sign-in and sign-up forms. */
export function AuthLayout(props: { title: string; children: JSX.Element; footer?: JSX.Element }) {
  return (
    <main class="auth-screen">
      <div class="auth-card">
        <Brand />
        <h1 class="auth-title">{props.title}</h1>
        {props.children}
      </div>
      <div class="auth-footer">{props.footer}</div>
    </main>
  );
}
