/** The sign-in page: one password field for an admin or read-only token. */
import type { FC } from 'hono/jsx';
import { Notice, Page } from './layout.tsx';

export const SignIn: FC<{ error?: string; notice?: string }> = ({ error, notice }) => (
  <Page title="Sign in">
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to edge-lb</h1>
      {error && <Notice tone="bad">{error}</Notice>}
      {notice && <Notice tone="off">{notice}</Notice>}
      <form method="post" action="/dashboard/sign-in">
        <label for="token">Admin or read-only token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        <button class="primary" type="submit">
          Sign in
        </button>
      </form>
      <p class="muted">The token is exchanged for a session cookie (12 hours); it is never stored in clear.</p>
    </section>
  </Page>
);
