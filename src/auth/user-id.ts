/** End-user ids name the user a job belongs to; the pattern is part of the public contract. */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function isValidUserId(value: string): boolean {
  return USER_ID_PATTERN.test(value);
}
