/**
 * A GPU pool's name: what its Dispatcher is addressed by (`DISPATCHER.getByName(pool)`), what
 * hosts register into and jobs and tenants name. The same rule as `DEFAULT_POOL` in config.
 */
export const POOL_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const POOL_NAME_RULE = "1-63 of a-z, 0-9 and -, starting with a letter or digit";
