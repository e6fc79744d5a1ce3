/**
 * The encoders behind encoder-backed env vars and commands (PROTOCOL 2.12),
 * from the SDK (`lib/sdk/encoders/`), adapted to what the k8s driver needs:
 * decode the current env string or command list into settings, and encode
 * setting values back (settings not given keep their current value).
 */
import type { Setting } from "../../lib/protocol.ts";
import { getEncoder } from "../../lib/sdk/encoders/mod.ts";
import { checkEncoderConfig } from "../../lib/sdk/encoders/base.ts";

/** What the driver needs from an encoder. */
export interface K8sEncoder {
  /** Settings decoded from the current value (a string or an argv list). */
  describe(current: string | string[] | undefined): Record<string, Setting>;
  /** Encode values (by unprefixed setting name) to a string or an argv list. */
  encode(
    values: Record<string, unknown>,
    expectedType: "str" | "list",
    current: string | string[] | undefined,
  ): string | string[];
}

/** The encoder of an `encoder` block (a config-error failure when unknown or malformed). */
export function loadEncoder(config: Record<string, unknown>): K8sEncoder {
  const cfg = checkEncoderConfig(config);
  const enc = getEncoder(cfg.name);
  return {
    describe: (current) => enc.describe(cfg, current ?? null),
    encode: (values, expectedType, current) =>
      enc.encode(cfg, values, expectedType, {
        current: current ?? null,
      }).encoded,
  };
}
