// The `parley` command run from source, for tests that spawn it (bin/parley.js runs the build).
import { runCli } from '../../src/cli/parley.js';

process.exitCode = await runCli(process.argv.slice(2));
