#!/usr/bin/env node
// A checked-in file rather than a path into dist/: installing the workspace links bins before
// anything is built, and a bin whose file does not exist yet makes every install warn.
import { run } from '../dist/cli.js'

await run()
