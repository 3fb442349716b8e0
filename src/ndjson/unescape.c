#include "ndjson/unescape.h"

#include <stdbool.h>

#if defined(__x86_64__)
#define UNESCAPE_SSSE3 1
#include <immintrin.h>
#endif

#ifdef UNESCAPE_SSSE3
/* keep_shuffle[m]: a pshufb control that moves the bytes of an 8-byte half
 * whose bit is set in m to the front, in order (0x80 clears the rest);
 * keep_count[m]: how many. */
static uint64_t keep_shuffle[256];
static uint8_t keep_count[256];
static bool has_ssse3, has_vbmi2;
static int widest = 64; /* unescape_limit */

/* Before main: no check on each call, and no thread yet to race with. */
__attribute__((constructor)) static void init(void)
{
    for (unsigned m = 0; m < 256; m++) {
        uint64_t s = 0;
        unsigned n = 0;
        for (unsigned i = 0; i < 8; i++)
            if (m >> i & 1) s |= (uint64_t)i << (8 * n++);
        keep_count[m] = (uint8_t)n;
        for (; n < 8; n++) s |= (uint64_t)0x80 << (8 * n);
        keep_shuffle[m] = s;
    }
    __builtin_cpu_init();
    has_ssse3 = __builtin_cpu_supports("ssse3");
    has_vbmi2 = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi2") &&
                __builtin_cpu_supports("popcnt");
}

/* The control escapes \b \f \n \r \t, looked up by bits 1-4 of the letter
 * (b 0x62 -> 1, f 0x66 -> 3, n 0x6E -> 7, r 0x72 -> 9, t 0x74 -> 10): which
 * letter belongs at each index, and the byte it stands for. An unused slot
 * holds a byte whose own index is another (0 has index 0, 0xFF index 15),
 * so no byte matches it. */
static const uint8_t ctl_letter[16] = {0xFF, 'b', 0, 'f', 0, 0, 0, 'n', 0, 'r', 't', 0, 0, 0, 0, 0};
static const uint8_t ctl_byte[16] = {0, '\b', 0, '\f', 0, 0, 0, '\n', 0, '\r', '\t', 0, 0, 0, 0, 0};

__attribute__((target("ssse3"))) static const uint8_t *run_ssse3(const uint8_t *src, const uint8_t *end,
                                                                  uint8_t **dst)
{
    const __m128i bslash = _mm_set1_epi8('\\'), quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('/');
    const __m128i space = _mm_set1_epi8(0x20), low4 = _mm_set1_epi8(0x0F);
    const __m128i letters = _mm_loadu_si128((const __m128i *)ctl_letter);
    const __m128i bytes = _mm_loadu_si128((const __m128i *)ctl_byte);
    uint8_t *d = *dst;
    while (end - src >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)src);
        __m128i isbs = _mm_cmpeq_epi8(v, bslash);
        /* Signed compare: control bytes and bytes >= 0x80 alike. */
        __m128i other = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmplt_epi8(v, space));
        /* Letters: the bytes right after a backslash. A backslash in the
         * last byte has its letter in the next block, which starts at it. */
        __m128i isletter = _mm_slli_si128(isbs, 1);
        __m128i idx = _mm_and_si128(_mm_srli_epi16(v, 1), low4);
        __m128i isctl = _mm_cmpeq_epi8(_mm_shuffle_epi8(letters, idx), v);
        __m128i valid = _mm_or_si128(isctl, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)));
        /* An escaped backslash (its letter is a backslash, not valid here)
         * or quote, \u and the like go to the caller. */
        if (_mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(isletter, other), _mm_andnot_si128(valid, isletter))))
            break;
        __m128i swap = _mm_and_si128(isctl, isletter);
        __m128i out = _mm_or_si128(_mm_andnot_si128(swap, v), _mm_and_si128(swap, _mm_shuffle_epi8(bytes, idx)));
        /* Drop the backslashes: each half compacted by its keep mask. */
        unsigned bs = (unsigned)_mm_movemask_epi8(isbs), keep = ~bs & 0xFFFF;
        __m128i lo = _mm_shuffle_epi8(out, _mm_cvtsi64_si128((long long)keep_shuffle[keep & 0xFF]));
        __m128i hi = _mm_shuffle_epi8(out, _mm_cvtsi64_si128((long long)(keep_shuffle[keep >> 8] + 0x0808080808080808ull)));
        _mm_storel_epi64((__m128i *)d, lo);
        d += keep_count[keep & 0xFF];
        _mm_storel_epi64((__m128i *)d, hi);
        d += keep_count[keep >> 8];
        src += 16 - (bs >> 15);
    }
    *dst = d;
    return src;
}

/* The same 64 bytes a step, where the CPU can drop the backslashes of a
 * whole block in one instruction (vpcompressb). A block that stops it goes
 * on 16 bytes a step, so the text before a string's closing quote is still
 * decoded in blocks. */
__attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt"))) static const uint8_t *
run_vbmi2(const uint8_t *src, const uint8_t *end, uint8_t **dst)
{
    const __m512i bslash = _mm512_set1_epi8('\\'), quote = _mm512_set1_epi8('"'), slash = _mm512_set1_epi8('/');
    const __m512i space = _mm512_set1_epi8(0x20), low4 = _mm512_set1_epi8(0x0F);
    const __m512i letters = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ctl_letter));
    const __m512i bytes = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ctl_byte));
    uint8_t *d = *dst;
    while (end - src >= 64) {
        __m512i v = _mm512_loadu_si512((const void *)src);
        __mmask64 isbs = _mm512_cmpeq_epi8_mask(v, bslash), isquote = _mm512_cmpeq_epi8_mask(v, quote);
        __mmask64 other = isquote | _mm512_cmplt_epi8_mask(v, space);
        __mmask64 isletter = isbs << 1;
        __m512i idx = _mm512_and_si512(_mm512_srli_epi16(v, 1), low4);
        __mmask64 isctl = _mm512_cmpeq_epi8_mask(_mm512_shuffle_epi8(letters, idx), v);
        __mmask64 valid = isctl | isquote | _mm512_cmpeq_epi8_mask(v, slash);
        if ((other & ~isletter) | (isletter & ~valid)) break;
        __m512i out = _mm512_mask_blend_epi8(isctl & isletter, v, _mm512_shuffle_epi8(bytes, idx));
        __mmask64 keep = ~isbs;
        _mm512_storeu_si512((void *)d, _mm512_maskz_compress_epi8(keep, out));
        d += _mm_popcnt_u64(keep);
        src += 64 - (isbs >> 63);
    }
    *dst = d;
    return src;
}
#endif

const uint8_t *unescape_run(const uint8_t *src, const uint8_t *end, uint8_t **dst)
{
#ifdef UNESCAPE_SSSE3
    if (has_vbmi2 && widest >= 64) src = run_vbmi2(src, end, dst);
    if (has_ssse3 && widest >= 16) return run_ssse3(src, end, dst);
#else
    (void)end;
    (void)dst;
#endif
    return src;
}

int unescape_limit(int bytes)
{
    int was = widest;
    widest = bytes;
    return was;
}
