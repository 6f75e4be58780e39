#!/usr/bin/env node
// Thin launcher: the CLI lives in orchestrator/cli, compiled to dist/ by `npm run build` (run by `npm ci`).
import { main } from '../dist/orchestrator/cli/main.js';
import { stopQuietlyWhenOutputCloses } from '../dist/orchestrator/cli/closed-output.js';

stopQuietlyWhenOutputCloses();
process.exitCode = await main(process.argv.slice(2));
