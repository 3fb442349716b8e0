// Must show 1 of issue 2 with --compression lz4_raw: see codec-cases.mjs.
import { codecSuite } from './codec-cases.mjs'

codecSuite('lz4_raw')
