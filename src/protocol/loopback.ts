/**
 * Whether a URL's host names this machine's loopback interface: `localhost`, 127.0.0.0/8 or ::1
 * (brackets allowed). One definition for both sides: the edge allows plain-http GPU hosts on
 * loopback outside production, gpu-backend allows plain http to the edge or ComfyUI only there.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost") return true;
  if (/^127(\.\d{1,3}){3}$/.test(bare)) return bare.split(".").every((o) => Number(o) <= 255);
  return bare === "::1" || bare === "0:0:0:0:0:0:0:1";
}
