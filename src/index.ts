/** Embedding vidgate in another Node program: build the app, then listen. */
export { createApp, createLogger, type App, type AppOptions } from './app.js';
export { loadConfig, type Config } from './config/env.js';
export type { Store } from './store/types.js';
export type { Provider } from './providers/types.js';
