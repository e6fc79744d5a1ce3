/**
 * Encoders by name (PROTOCOL.md 2.12): `getEncoder("jvm")`, or the
 * module-level {@link describe} / {@link encode} that read the encoder name
 * from the config block, like v1 `encoders/base.py`.
 *
 * @example
 * ```ts
 * // A k8s env var JAVA_OPTS with `encoder: {name: jvm, settings: {...}}`:
 * const settings = describe(envCfg.encoder, currentJavaOpts);      // exposed settings
 * const { encoded, consumed } = encode(envCfg.encoder, inputSettings, "str");
 * ```
 */
import type { Setting } from "../../protocol.ts";
import { configFailure } from "../settings.ts";
import {
  checkEncoderConfig,
  type EncodeOptions,
  type Encoder,
  type EncoderConfig,
  type EncodeResult,
  type ExpectedType,
} from "./base.ts";
import { jvmEncoder } from "./jvm.ts";

export type { EncodeOptions, Encoder, EncoderConfig, EncodeResult, ExpectedType };
export { checkRangeValue, GRID_EPS, type ResolvedRange, resolveRange } from "./base.ts";
export { GC_TYPES, JVM_SETTINGS, jvmEncoder } from "./jvm.ts";

const ENCODERS: Record<string, Encoder> = { jvm: jvmEncoder };

/** The names of the available encoders. */
export function encoderNames(): string[] {
  return Object.keys(ENCODERS);
}

/** The encoder called `name`; a config error when there is none. */
export function getEncoder(name: string): Encoder {
  if (!Object.hasOwn(ENCODERS, name)) {
    throw configFailure(
      `Unknown encoder "${name}"; available: ${encoderNames().join(", ")}`,
    );
  }
  return ENCODERS[name];
}

/** Describe with the encoder named in `config.name`. */
export function describe(
  config: unknown,
  data: string | string[] | null | undefined,
): Record<string, Setting> {
  const cfg: EncoderConfig = checkEncoderConfig(config);
  return getEncoder(cfg.name).describe(cfg, data);
}

/** Encode with the encoder named in `config.name`. */
export function encode(
  config: unknown,
  values: Record<string, unknown>,
  expectedType?: ExpectedType,
  opts?: EncodeOptions,
): EncodeResult {
  const cfg: EncoderConfig = checkEncoderConfig(config);
  return getEncoder(cfg.name).encode(cfg, values, expectedType, opts);
}
