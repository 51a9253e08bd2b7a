export * from "./faults.js";
export * from "./localScratch.js";
export * from "./runtime.js";
export * from "./Worker.js";
