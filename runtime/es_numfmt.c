/*
** es_numfmt.c -- exact, printf-compatible number formatting for the CSV
** writers.
**
** The CSV tables print float32 values with "%.Nf".  Going through snprintf
** for every field dominates the output cost (format parsing, locale, the
** generic multi-precision conversion), yet a float32 has only a 24-bit
** mantissa: M * 2^E with -149 <= E <= 104.  That makes the exact decimal
** expansion cheap to get with integer arithmetic:
**
**   E >= 0  the value is the integer M << E (< 2^128): print it, then the
**           zeros of the fraction.
**   E <  0  with s = -E, the integer part is M >> s and the fraction is
**           F / 2^s (F = M mod 2^s).  The printed fraction is
**           round(F * 10^prec / 2^s); F * 10^prec < 2^24 * 10^9 < 2^54 fits
**           in 64 bits, so quotient, remainder and the tie test (remainder
**           == 2^(s-1)) are all exact.  glibc rounds the exact binary value
**           half-to-even (default rounding mode), so we do the same.
**
** Sign, "nan"/"-nan" and "inf"/"-inf" follow glibc: the sign is printed
** whenever the sign bit is set, including -0.0, negative values that round
** to zero ("-0.00") and NaNs with the sign bit set.
**
** Doubles use the same scheme with 128-bit intermediates and are exact for
** every |v| < 2^128; above that they go through snprintf.
*/
#include "evstream.h"

#include <stdio.h>

/* __int128 is a GNU extension; __extension__ keeps -Wpedantic quiet. */
__extension__ typedef unsigned __int128 u128;

/* "00" "01" ... "99": two digits per division halves the divisions. */
static const char numfmt_dig2[200] = {
    '0','0','0','1','0','2','0','3','0','4','0','5','0','6','0','7','0','8','0','9',
    '1','0','1','1','1','2','1','3','1','4','1','5','1','6','1','7','1','8','1','9',
    '2','0','2','1','2','2','2','3','2','4','2','5','2','6','2','7','2','8','2','9',
    '3','0','3','1','3','2','3','3','3','4','3','5','3','6','3','7','3','8','3','9',
    '4','0','4','1','4','2','4','3','4','4','4','5','4','6','4','7','4','8','4','9',
    '5','0','5','1','5','2','5','3','5','4','5','5','5','6','5','7','5','8','5','9',
    '6','0','6','1','6','2','6','3','6','4','6','5','6','6','6','7','6','8','6','9',
    '7','0','7','1','7','2','7','3','7','4','7','5','7','6','7','7','7','8','7','9',
    '8','0','8','1','8','2','8','3','8','4','8','5','8','6','8','7','8','8','8','9',
    '9','0','9','1','9','2','9','3','9','4','9','5','9','6','9','7','9','8','9','9',
};

static const uint32_t numfmt_pow10[10] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
};

/* The precision is documented as 0..9; clamping keeps the output inside
** ES_NUM_MAX and the 10^prec table whatever the caller passes. */
static inline int numfmt_clamp_prec(int prec) {
    return prec < 0 ? 0 : prec > 9 ? 9 : prec;
}

/* Number of decimal digits of v (1 for 0).  bits * 1233 / 4096 is bits *
** log10(2) rounded so that one table look-up settles the count.  v | 1
** changes nothing for v > 0 (every power of ten above 1 is even) and makes
** 0 count as one digit. */
static inline int numfmt_len_u32(uint32_t v) {
    uint32_t w = v | 1u;
    int t = ((32 - __builtin_clz(w)) * 1233) >> 12;
    return t + 1 - (w < numfmt_pow10[t]);
}

/* Exactly n digits of v (v < 10^n), zero padded, written back to front so
** no digit count is needed. */
static inline char *numfmt_fixed_u32(char *p, uint32_t v, int n) {
    char *e = p + n;
    while (e - p >= 2) {
        e -= 2;
        memcpy(e, numfmt_dig2 + (v % 100u) * 2u, 2);
        v /= 100u;
    }
    if (e > p) *p = (char)('0' + v);
    return p + n;
}

/* Exactly n digits of a 64-bit v (v < 10^n): the low limbs of wide
** integers.  8-digit chunks keep the inner work in 32-bit arithmetic. */
static char *numfmt_fixed_u64(char *p, uint64_t v, int n) {
    char *e = p + n;
    while (e - p > 8) {
        e -= 8;
        numfmt_fixed_u32(e, (uint32_t)(v % 100000000u), 8);
        v /= 100000000u;
    }
    numfmt_fixed_u32(p, (uint32_t)v, (int)(e - p));
    return p + n;
}

static inline char *numfmt_u32(char *p, uint32_t v) {
    return numfmt_fixed_u32(p, v, numfmt_len_u32(v));
}

static char *numfmt_u64(char *p, uint64_t v) {
    if (v <= UINT32_MAX) return numfmt_u32(p, (uint32_t)v);
    /* v < 2^64 < 10^20: at most 12 digits above the low 8. */
    uint64_t hi = v / 100000000u;
    uint32_t lo = (uint32_t)(v - hi * 100000000u);
    p = numfmt_u64(p, hi);
    return numfmt_fixed_u32(p, lo, 8);
}

/* Only huge values get here (float32 >= 2^64), so plain u128 division by
** 10^19 (a libgcc call) is fine. */
static char *numfmt_u128(char *p, u128 v) {
    if ((v >> 64) == 0) return numfmt_u64(p, (uint64_t)v);
    const uint64_t e19 = 10000000000000000000u;
    u128 hi = v / e19;
    uint64_t lo = (uint64_t)(v - hi * e19);
    p = numfmt_u128(p, hi);
    return numfmt_fixed_u64(p, lo, 19);
}

/* "." and prec zeros: the fraction of an integer-valued float. */
static inline char *numfmt_zero_frac(char *p, int prec) {
    if (prec) {
        *p++ = '.';
        memset(p, '0', (size_t)prec);
        p += prec;
    }
    return p;
}

/* The eight decimal digits of v < 10^8 as the bytes 0..9 of a word, the
** most significant digit in the lowest byte (its first byte in memory on a
** little-endian machine), without a loop, a table or a division: v splits
** into two 4-digit lanes, each into two 2-digit lanes, each into two digits,
** the quotients by multiplying with a rounded-up reciprocal (exact for
** these ranges: x / 100 = x * 10486 >> 20 for x < 10^4, x / 10 = x * 103
** >> 10 for x < 100); the masks drop what spills in from the next lane. */
static inline uint64_t numfmt_swar8(uint32_t v) {
    uint64_t x = (uint64_t)(v / 10000u) | ((uint64_t)(v % 10000u) << 32);
    uint64_t h = ((x * 10486u) >> 20) & UINT64_C(0x0000007F0000007F);
    uint64_t t = h | ((x - h * 100u) << 16);
    uint64_t d = ((t * 103u) >> 10) & UINT64_C(0x000F000F000F000F);
    return d | ((t - d * 10u) << 8);
}

/* The significant digits of the word (at least one): 8 minus the leading
** zero digits, which are its low zero bytes. */
static inline int numfmt_swar_len(uint64_t d) {
    return d ? 8 - (__builtin_ctzll(d) >> 3) : 1;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NUMFMT_SWAR 1
#define NUMFMT_ASCII0 UINT64_C(0x3030303030303030)

/* ip < 10^8 without a loop or a branch on its length: its eight digits,
** then a fixed 8-byte copy of the significant ones.  Losses print integer
** parts of varying length, which made a digit loop's exit branch a coin
** toss. */
static inline char *numfmt_ip8(char *p, uint32_t ip) {
    char tmp[16] = {0};
    uint64_t d = numfmt_swar8(ip), a = d + NUMFMT_ASCII0;
    int n = numfmt_swar_len(d);
    memcpy(tmp, &a, 8);
    memcpy(p, tmp + 8 - n, 8); /* the bytes past n are overwritten by the caller's next write */
    return p + n;
}
#else
/* Big-endian: the same digits from four two-digit look-ups. */
static inline char *numfmt_ip8(char *p, uint32_t ip) {
    char tmp[16] = {0};
    uint32_t hi = ip / 10000u, lo = ip - hi * 10000u;
    int n = numfmt_len_u32(ip);
    memcpy(tmp + 0, numfmt_dig2 + (hi / 100u) * 2u, 2);
    memcpy(tmp + 2, numfmt_dig2 + (hi % 100u) * 2u, 2);
    memcpy(tmp + 4, numfmt_dig2 + (lo / 100u) * 2u, 2);
    memcpy(tmp + 6, numfmt_dig2 + (lo % 100u) * 2u, 2);
    memcpy(p, tmp + 8 - n, 8);
    return p + n;
}
#endif

/* Integer part, then prec fraction digits of frac (frac < 10^prec). */
static inline char *numfmt_point(char *p, uint64_t ip, uint32_t frac, int prec) {
    if (ip < 100000000u) p = numfmt_ip8(p, (uint32_t)ip);
    else p = ip <= UINT32_MAX ? numfmt_u32(p, (uint32_t)ip) : numfmt_u64(p, ip);
    if (prec) {
        *p++ = '.';
        p = numfmt_fixed_u32(p, frac, prec);
    }
    return p;
}

/* glibc's spelling for the non-finite values (sign already written). */
static inline char *numfmt_nonfinite(char *p, int is_nan) {
    memcpy(p, is_nan ? "nan" : "inf", 3);
    return p + 3;
}

/* Split q = value * 10^prec into integer part and fraction; constant
** divisors for the common precisions turn the divisions into multiplies. */
static inline char *numfmt_scaled_split(char *p, uint64_t q, int prec) {
    uint64_t ip;
    uint32_t frac;
    switch (prec) {
    case 2: ip = q / 100u; frac = (uint32_t)(q - ip * 100u); break;
    case 6: ip = q / 1000000u; frac = (uint32_t)(q - ip * 1000000u); break;
    case 4: ip = q / 10000u; frac = (uint32_t)(q - ip * 10000u); break;
    default: ip = q / numfmt_pow10[prec]; frac = (uint32_t)(q - ip * numfmt_pow10[prec]); break;
    }
    return numfmt_point(p, ip, frac, prec);
}

/* q = value * 10^prec, q < 2^52 < 10^16, printed with the point before its
** last prec digits: all of q's digits at once (one or two 8-digit words),
** then fixed-size copies of the integer digits and of the fraction, so no
** branch depends on the number's length. */
static inline char *numfmt_scaled(char *p, uint64_t q, int prec) {
#ifdef NUMFMT_SWAR
    char tmp[32] = {0}; /* the digits end at tmp + 16; the 16-byte copy may read up to tmp + 31 */
    const char *digits;
    int n;
    if (prec > 7) return numfmt_scaled_split(p, q, prec);
    if (q < 100000000u) {
        uint64_t d = numfmt_swar8((uint32_t)q), a = d + NUMFMT_ASCII0;
        n = numfmt_swar_len(d);
        if (n < prec + 1) n = prec + 1; /* "0.05": zeros before the point and after it */
        memcpy(tmp + 8, &a, 8);
    } else {
        uint64_t hi = q / 100000000u, dh, dl, ah, al;
        dh = numfmt_swar8((uint32_t)hi); /* hi < 2^52 / 10^8 < 10^8, and > 0 */
        dl = numfmt_swar8((uint32_t)(q - hi * 100000000u));
        ah = dh + NUMFMT_ASCII0;
        al = dl + NUMFMT_ASCII0;
        n = numfmt_swar_len(dh) + 8;
        memcpy(tmp, &ah, 8);
        memcpy(tmp + 8, &al, 8);
    }
    digits = tmp + 16 - n;              /* the n digits end at tmp + 16 */
    memcpy(p, digits, 16);              /* integer digits (and what follows: overwritten) */
    p += n - prec;
    if (prec) {
        *p++ = '.';
        memcpy(p, tmp + 16 - prec, 8);
        p += prec;
    }
    return p;
#else
    return numfmt_scaled_split(p, q, prec);
#endif
}

static const double numfmt_pow10d[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

char *es_fmt_f32(char *p, float v, int prec) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    prec = numfmt_clamp_prec(prec);

    /* Fast path.  x = |v| * 10^prec is exact in a double: 24 mantissa bits
    ** times 5^prec (at most 21 bits) fit in 53.  Below 2^52, adding and
    ** subtracting 2^52 rounds x to an integer half-to-even in the default
    ** rounding mode: exactly printf's rounding of the exact binary value.
    ** NaN and infinities fail the comparison and take the slow path. */
    {
        double x = (double)(bits >> 31 ? -v : v) * numfmt_pow10d[prec];
        if (x < 0x1p52) {
            volatile double big = 0x1p52; /* keeps the compiler from folding the rounding away */
            uint64_t q = (uint64_t)((x + big) - big);
            if (bits >> 31) *p++ = '-';
            return numfmt_scaled(p, q, prec);
        }
    }

    if (bits >> 31) *p++ = '-';
    uint32_t bexp = (bits >> 23) & 0xffu;
    uint32_t m = bits & 0x7fffffu;
    if (bexp == 0xffu) return numfmt_nonfinite(p, m != 0);

    /* value = m * 2^e exactly; zero and denormals have bexp 0. */
    int e;
    if (bexp) {
        m |= 0x800000u;
        e = (int)bexp - 150;
    } else {
        e = -149;
    }

    if (e >= 0) {
        /* An integer: m < 2^24 and e <= 104, so m << e < 2^128. */
        if (e <= 40) p = numfmt_u64(p, (uint64_t)m << e);
        else p = numfmt_u128(p, (u128)m << e);
        return numfmt_zero_frac(p, prec);
    }

    unsigned s = (unsigned)-e;   /* 1 .. 149 */
    uint32_t ip = 0, frac = 0;
    /* n = f * 10^prec < 2^54, so for s >= 55 the fraction is below half a
    ** unit in the last place: it rounds to 0, and ip is 0 too.  Stopping
    ** there also keeps every shift below 64. */
    if (s < 55) {
        uint64_t f;
        if (s < 32) {
            ip = m >> s;
            f = m & ((1u << s) - 1u);
        } else {
            f = m;
        }
        uint64_t n = f * numfmt_pow10[prec];
        uint64_t q = n >> s;
        uint64_t r = n & ((UINT64_C(1) << s) - 1u);
        uint64_t half = UINT64_C(1) << (s - 1);
        /* Half-even looks at the last printed digit: that of the fraction,
        ** or of the integer part when prec is 0 (q is then 0). */
        uint64_t last = prec ? q : ip;
        /* Written without branches: for real data the round-up decision
        ** is a coin toss, and a mispredict costs as much as the rest. */
        q += (uint64_t)((r > half) | ((r == half) & (unsigned)last));
        uint32_t carry = q == numfmt_pow10[prec];   /* 0.999.. -> 1.000 */
        ip += carry;
        frac = (uint32_t)q - (carry ? numfmt_pow10[prec] : 0u);
    }
    return numfmt_point(p, ip, frac, prec);
}

char *es_fmt_f64(char *p, double v, int prec) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    prec = numfmt_clamp_prec(prec);

    uint64_t bexp = (bits >> 52) & 0x7ffu;
    uint64_t m = bits & ((UINT64_C(1) << 52) - 1u);
    if (bexp == 0x7ffu) {
        if (bits >> 63) *p++ = '-';
        return numfmt_nonfinite(p, m != 0);
    }
    int e;
    if (bexp) {
        m |= UINT64_C(1) << 52;
        e = (int)bexp - 1075;
    } else {
        e = -1074;
    }
    if (e > 75) {
        /* |v| >= 2^128: rare for losses; leave it to libc.  Up to about
        ** 1e53 the exact expansion still fits ES_NUM_MAX; beyond, the
        ** caller's buffer cannot hold it, so write exponent form instead
        ** of overflowing. */
        char tmp[400];
        int n = snprintf(tmp, sizeof tmp, "%.*f", prec, v);
        if (n < 0 || n > ES_NUM_MAX) n = snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (n < 0) n = 0;
        memcpy(p, tmp, (size_t)n);
        return p + n;
    }

    if (bits >> 63) *p++ = '-';
    if (e >= 0) {   /* integer, m < 2^53 and e <= 75: below 2^128 */
        if (e <= 11) p = numfmt_u64(p, m << e);
        else p = numfmt_u128(p, (u128)m << e);
        return numfmt_zero_frac(p, prec);
    }

    unsigned s = (unsigned)-e;   /* 1 .. 1074 */
    uint64_t ip = 0;
    uint32_t frac = 0;
    /* n = f * 10^prec < 2^53 * 10^9 < 2^83: for s >= 84 it is below half
    ** an ulp of the last digit (and ip is 0). */
    if (s < 84) {
        uint64_t f;
        if (s < 64) {
            ip = m >> s;
            f = m & ((UINT64_C(1) << s) - 1u);
        } else {
            f = m;
        }
        uint64_t q, r, half;
        uint64_t last;
        if (s < 64 && f < (UINT64_C(1) << 34)) {
            /* f * 10^9 < 2^64: the common case stays in 64 bits. */
            uint64_t n = f * numfmt_pow10[prec];
            q = n >> s;
            r = n & ((UINT64_C(1) << s) - 1u);
            half = UINT64_C(1) << (s - 1);
            last = prec ? q : ip;
            if (r > half || (r == half && (last & 1u))) ++q;
        } else {
            u128 n = (u128)f * numfmt_pow10[prec];
            u128 q2 = n >> s;
            u128 r2 = n & (((u128)1 << s) - 1u);
            u128 h2 = (u128)1 << (s - 1);
            last = prec ? (uint64_t)q2 : ip;
            if (r2 > h2 || (r2 == h2 && (last & 1u))) ++q2;
            q = (uint64_t)q2;   /* <= 10^prec */
        }
        if (q == numfmt_pow10[prec]) {
            q = 0;
            ++ip;
        }
        frac = (uint32_t)q;
    }
    return numfmt_point(p, ip, frac, prec);
}

char *es_fmt_i32(char *p, int32_t v) {
    /* Negate in unsigned arithmetic: -INT32_MIN overflows int32_t. */
    uint32_t u = (uint32_t)v;
    if (u < 100u) { /* sample ids and small ids: most of what tables print */
        if (u < 10u) {
            *p = (char)('0' + u);
            return p + 1;
        }
        memcpy(p, numfmt_dig2 + u * 2u, 2);
        return p + 2;
    }
    if (u < 100000000u) return numfmt_ip8(p, u);
    if (v < 0) {
        *p++ = '-';
        u = 0u - u;
    }
    return numfmt_u32(p, u);
}

char *es_fmt_i64(char *p, int64_t v) {
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        *p++ = '-';
        u = 0u - u;
    }
    return numfmt_u64(p, u);
}
