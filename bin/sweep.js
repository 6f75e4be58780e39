#!/usr/bin/env node
// Thin launcher: the CLI lives in cli/, compiled to dist/ by `npm run build` (run by `npm ci`).
import { main } from '../dist/cli/main.js';
import { stopQuietlyWhenOutputCloses } from '../dist/cli/closed-output.js';

stopQuietlyWhenOutputCloses();
process.exitCode = await main(process.argv.slice(2));
