#!/usr/bin/env node
// The `sepconv` executable: runs the command line and exits with its code.
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
