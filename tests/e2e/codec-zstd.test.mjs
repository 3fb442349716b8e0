// Must show 1 of issue 2 with --compression zstd: see codec-cases.mjs.
import { codecSuite } from './codec-cases.mjs'

codecSuite('zstd')
