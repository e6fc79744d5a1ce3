/**
 * The driver SDK: everything a TypeScript driver needs.
 * See drivers/README.md for the guide and a complete example.
 */
export * from "./types.ts";
export {
  EXIT_CRASH,
  EXIT_REPORTED,
  EXIT_USAGE,
  parseRequest,
  runDriver,
  type RunDriverOptions,
  unwrapAdjustInput,
} from "./run.ts";
export {
  configLocation,
  loadSection,
  loadSectionFrom,
  readConfigFile,
  requireSection,
} from "./config.ts";
export {
  badInput,
  checkSettingSpec,
  checkValue,
  configFailure,
  roundToStep,
  type SettingChange,
  settingChanges,
  valueOf,
} from "./settings.ts";
export { type LineSink, MemorySink, StdoutSink } from "./output.ts";
export { errorChain, isRecord, numberOr, sleep } from "./util.ts";
export { type InsecureRequest, insecureRequest, type InsecureResponse } from "./insecure_http.ts";
export { readState, type ReadStateOptions, writeState } from "./state.ts";
export {
  type ChildDriverOptions,
  type ChildDriverResult,
  childStatus,
  runChildDriver,
  stderrForMessage,
} from "./child.ts";
export { type Encoder, type EncoderConfig, getEncoder } from "./encoders/mod.ts";
export {
  ChildGroup,
  type CommandResult,
  type GroupOptions,
  liveGroupCount,
  runCommand,
  type RunOptions,
  runShell,
  spawnGroup,
  stopAllGroups,
} from "../process.ts";
