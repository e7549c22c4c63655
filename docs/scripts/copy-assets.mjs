#!/usr/bin/env node
// The benchmark's chart lives with its results (bench/results): the site serves a copy.
import { copyFileSync, mkdirSync } from 'node:fs'

const target = new URL('../public/bench/', import.meta.url)
mkdirSync(target, { recursive: true })
copyFileSync(new URL('../../bench/results/latest.svg', import.meta.url), new URL('latest.svg', target))
