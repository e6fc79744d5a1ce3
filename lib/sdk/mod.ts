/**
 * The driver SDK: everything a TypeScript driver needs.
 * See drivers/README.md for the guide and a complete example.
 */
export * from "./types.ts";
export { EXIT_REPORTED, runDriver, type RunDriverOptions } from "./run.ts";
export { configLocation, loadSection, requireSection } from "./config.ts";
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
export {
  ChildGroup,
  type CommandResult,
  runCommand,
  runShell,
  spawnGroup,
} from "../process.ts";
