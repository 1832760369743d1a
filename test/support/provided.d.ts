// Must be a module: augmenting vitest from a global script would replace its types.
import "vitest";

declare module "vitest" {
  interface ProvidedContext {
    jwksPort: number;
    jwksPrivateJwk: string;
    fakeHostPort: number;
    ssrfPort: number;
    webhookReceiverPort: number;
  }
}
