#!/usr/bin/env node
// The installed `parley` command: runs the build of src/cli/parley.ts (`npm run build`).
import { runCli } from '../dist/cli/parley.js';

process.exitCode = await runCli(process.argv.slice(2));
