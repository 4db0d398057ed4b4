// Which variables hold secrets, so that --dry-run shows them as <redacted> (as python/mcm_warm.py does).

/** A variable whose name matches this holds a secret (case-insensitive, anywhere in the name). */
export const SECRET_NAME =
  /TOKEN|KEY|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|SIGNATURE|(^|_)PASS(_|$)/i;

export const REDACTED = "<redacted>";

/** The variables with the values of secret-looking names (and hidden ones, null) replaced. */
export function redactEnv(env: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null || SECRET_NAME.test(k) ? REDACTED : v]));
}
