/*
 * fpudiff: generates x87 reference cases by running the host's x87.
 *
 *   gcc -O2 -o fpudiff fpudiff.c          (x86_64 or i686 host)
 *   ./fpudiff SEED CASES_PER_OP [op ...] > cases.txt
 *   EDGE=1 ./fpudiff ...     (special-value-heavy operands, FPREM exponent
 *                             differences around 64, values around 0.5)
 *
 * One case per line, all fields hex:
 *   op cw a b r1 r2 sw
 * a, b, r1, r2 are 20 hex digits (80-bit: sign/exponent word then the
 * 64-bit significand); memory operands/results (integers, float32/64,
 * packed BCD) are zero-extended into the same 20 digits. sw is the status
 * word after the instruction, masked to C3 C2 C1 C0 and the six exception
 * flags (0x473F). Each case starts from FNINIT + FLDCW cw.
 * For register results the whole register file is captured with FNSAVE, so
 * unmasked exceptions never trap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint64_t sig; uint16_t se; } __attribute__((packed)) f80;

struct fsave { uint16_t cw, r0, sw, r1, tw, r2; uint32_t ip; uint16_t cs, op; uint32_t dp; uint16_t ds, r3; uint8_t st[80]; };

static uint64_t rng_state;
static uint64_t rnd(void) {
    /* xorshift64* */
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static int rn(int n) { return (int)(rnd() % (uint64_t)n); }

enum { K_REG1, K_REG2, K_REG1_2OUT, K_CMP, K_MEMLOAD, K_MEMSTORE, K_COMI };

/* ---- register operations ------------------------------------------------ */
#define PRE  "fninit\n\tfldcw %[cw]\n\t"
#define LOADB "fldt %[b]\n\t"
#define LOADA "fldt %[a]\n\t"
#define POST "\n\tfnsave %[s]"
#define OPS [s] "=m"(*sv) : [cw] "m"(cw), [a] "m"(*a), [b] "m"(*b) : "memory", "ax"

#define R2(name, insn) static void op_##name(uint16_t cw, const f80 *a, const f80 *b, struct fsave *sv) { \
    __asm__ volatile(PRE LOADB LOADA insn POST : OPS); }
#define R1(name, insn) static void op_##name(uint16_t cw, const f80 *a, const f80 *b, struct fsave *sv) { \
    __asm__ volatile(PRE LOADA insn POST : OPS); }

R2(add, "fadd %%st(1), %%st")
R2(sub, "fsub %%st(1), %%st")
R2(mul, "fmul %%st(1), %%st")
R2(div, "fdiv %%st(1), %%st")
R1(sqrt, "fsqrt")
R1(rndint, "frndint")
R2(prem, "fprem")
R2(prem1, "fprem1")
R2(scale, "fscale")
R1(xtract, "fxtract")
R2(com, "fcom %%st(1)")
R2(ucom, "fucom %%st(1)")
R1(tst, "ftst")
R1(xam, "fxam")
R1(ldpi, "fstp %%st(0)\n\tfldpi")
R1(ldl2t, "fstp %%st(0)\n\tfldl2t")
R1(ldl2e, "fstp %%st(0)\n\tfldl2e")
R1(ldlg2, "fstp %%st(0)\n\tfldlg2")
R1(ldln2, "fstp %%st(0)\n\tfldln2")
R1(sin, "fsin")
R1(cos, "fcos")
R1(sincos, "fsincos")
R1(ptan, "fptan")
R2(patan, "fpatan")
R1(f2xm1, "f2xm1")
R2(yl2x, "fyl2x")
R2(yl2xp1, "fyl2xp1")

/* ---- register op memory (ST0 = ST0 op m32/m64), b's low bits are the memory operand ---- */
#define RM(name, insn, T) static void op_##name(uint16_t cw, const f80 *a, const f80 *b, struct fsave *sv) { \
    T m; memcpy(&m, &b->sig, sizeof m); \
    __asm__ volatile(PRE LOADA insn " %[m]" POST : [s] "=m"(*sv) : [cw] "m"(cw), [a] "m"(*a), [m] "m"(m) : "memory"); }
RM(fadd32, "fadds", uint32_t)
RM(fadd64, "faddl", uint64_t)
RM(fdiv32, "fdivs", uint32_t)
RM(fmul64, "fmull", uint64_t)
RM(fcom32, "fcoms", uint32_t)
RM(fiadd32, "fiaddl", uint32_t)
RM(fsubr32, "fsubrs", uint32_t)
RM(fdivr64, "fdivrl", uint64_t)
RM(fimul16, "fimuls", uint16_t)
RM(ficom32, "ficoml", uint32_t)

/* FCOMI/FUCOMI: EFLAGS (ZF PF CF) captured into the first 8 bytes of r1 */
#define RC(name, insn) static void op_##name(uint16_t cw, const f80 *a, const f80 *b, struct fsave *sv, uint64_t *fl) { \
    unsigned long f; \
    __asm__ volatile(PRE LOADB LOADA insn "\n\tpushf\n\tpop %[fl]" POST : [s] "=m"(*sv), [fl] "=r"(f) : [cw] "m"(cw), [a] "m"(*a), [b] "m"(*b) : "memory", "cc"); \
    *fl = f; }
RC(comi, "fcomi %%st(1), %%st")
RC(ucomi, "fucomi %%st(1), %%st")

/* ---- memory operations -------------------------------------------------- */
static void op_fld32(uint16_t cw, const void *m, struct fsave *sv) {
    __asm__ volatile(PRE "flds %[m]" POST : [s] "=m"(*sv) : [cw] "m"(cw), [m] "m"(*(const uint32_t *)m) : "memory"); }
static void op_fld64(uint16_t cw, const void *m, struct fsave *sv) {
    __asm__ volatile(PRE "fldl %[m]" POST : [s] "=m"(*sv) : [cw] "m"(cw), [m] "m"(*(const uint64_t *)m) : "memory"); }
static void op_fild16(uint16_t cw, const void *m, struct fsave *sv) {
    __asm__ volatile(PRE "filds %[m]" POST : [s] "=m"(*sv) : [cw] "m"(cw), [m] "m"(*(const uint16_t *)m) : "memory"); }
static void op_fild32(uint16_t cw, const void *m, struct fsave *sv) {
    __asm__ volatile(PRE "fildl %[m]" POST : [s] "=m"(*sv) : [cw] "m"(cw), [m] "m"(*(const uint32_t *)m) : "memory"); }
static void op_fild64(uint16_t cw, const void *m, struct fsave *sv) {
    __asm__ volatile(PRE "fildll %[m]" POST : [s] "=m"(*sv) : [cw] "m"(cw), [m] "m"(*(const uint64_t *)m) : "memory"); }
static void op_fbld(uint16_t cw, const void *m, struct fsave *sv) {
    __asm__ volatile(PRE "fbld %[m]" POST : [s] "=m"(*sv) : [cw] "m"(cw), [m] "m"(*(const f80 *)m) : "memory"); }

#define ST(name, insn, T) static void op_##name(uint16_t cw, const f80 *a, void *m, struct fsave *sv) { \
    __asm__ volatile(PRE LOADA insn " %[m]" POST : [s] "=m"(*sv), [m] "+m"(*(T *)m) : [cw] "m"(cw), [a] "m"(*a) : "memory"); }
ST(fst32, "fstps", uint32_t)
ST(fst64, "fstpl", uint64_t)
ST(fist16, "fistps", uint16_t)
ST(fist32, "fistpl", uint32_t)
ST(fist64, "fistpll", uint64_t)
ST(fbstp, "fbstp", f80)

/* ---- operand generation ------------------------------------------------- */
static uint64_t boundary_sig(void) {
    /* significands near a rounding boundary for 24, 53 or 64 bits */
    int pos = (int[]){40, 11, 0, 39, 10, 1}[rn(6)];
    uint64_t s = rnd() | (1ULL << 63);
    uint64_t low = pos ? (1ULL << pos) - 1 : 0;
    switch (rn(5)) {
    case 0: s &= ~low; break;                                   /* exact */
    case 1: s = (s & ~low) | (pos ? 1ULL << (pos - 1) : 0); break; /* exactly half */
    case 2: s |= low; break;                                    /* just below next */
    case 3: s = (s & ~low) | 1; break;                          /* just above */
    default: s = (s & ~low) | ((pos ? 1ULL << (pos - 1) : 0) + (rn(2) ? 1 : -1)); break;
    }
    if (rn(8) == 0) s = ~0ULL << rn(64);                        /* all ones */
    return s | (1ULL << 63);
}

static f80 gen_value(int mode) {
    f80 v;
    uint16_t sign = rn(2) ? 0x8000 : 0;
    int c = rn(100);
    if (mode == 1) c = 40 + rn(60);  /* finite-heavy */
    if (getenv("EDGE") && rn(2)) c = rn(34);
    if (c < 3) { v.se = sign; v.sig = 0; }                                       /* zero */
    else if (c < 6) { v.se = sign | 0x7FFF; v.sig = 1ULL << 63; }               /* inf */
    else if (c < 9) { v.se = sign | 0x7FFF; v.sig = (3ULL << 62) | (rnd() >> rn(64) >> 2); } /* QNaN */
    else if (c < 12) { v.se = sign | 0x7FFF; v.sig = (1ULL << 63) | ((rnd() >> 2) | 1) >> rn(62); } /* SNaN */
    else if (c < 13) {                                                           /* unsupported */
        int k = rn(3);
        v.se = sign | (k == 0 ? 1 + rn(0x7FFE) : 0x7FFF);
        v.sig = rnd() & ~(1ULL << 63);
        if (k == 1) v.sig = 0;
    }
    else if (c < 19) { v.se = sign; v.sig = (rnd() >> rn(64)) & ~(1ULL << 63); if (!v.sig) v.sig = 1; } /* denormal */
    else if (c < 20) { v.se = sign; v.sig = rnd() | (1ULL << 63); }             /* pseudo-denormal */
    else if (c < 28) { v.se = sign | (1 + rn(80)); v.sig = rnd() | (1ULL << 63); } /* tiny */
    else if (c < 34) { v.se = sign | (0x7FFE - rn(80)); v.sig = rnd() | (1ULL << 63); } /* huge */
    else if (c < 40) { v.se = sign | (0x3FFF - 64 + rn(128)); v.sig = rnd() & (~0ULL << rn(64)); v.sig |= 1ULL << 63; } /* short sig */
    else if (c < 55) { v.se = sign | (0x3FFF - 70 + rn(140)); v.sig = boundary_sig(); }
    else if (c < 65) { v.se = sign | (0x3FFF - 0x3F00 + rn(0x7E00)); v.sig = boundary_sig(); }
    else { v.se = sign | (0x3FFF - 40 + rn(80)); v.sig = rnd() | (1ULL << 63); }
    return v;
}

static f80 nearby(f80 a) {
    /* an operand close to a in exponent (for cancellation / exact quotients) */
    f80 b = a;
    int k = rn(6);
    if ((a.se & 0x7FFF) == 0 || (a.se & 0x7FFF) == 0x7FFF) return gen_value(1);
    if (k == 0) { b.sig ^= 1ULL << rn(64); b.sig |= 1ULL << 63; }
    else if (k == 1) { b.se = (a.se & 0x8000) | ((a.se & 0x7FFF) + rn(130) - 65); b.sig = rnd() | (1ULL << 63); }
    else if (k == 2) { b.se ^= 0x8000; }
    else if (k == 3) { b.se = (a.se & 0x8000) | (0x3FFF + rn(40)); b.sig = (1ULL << 63) | ((rnd() >> 40) << 40); }
    else if (k == 4) { b.sig = a.sig + (uint64_t)(rn(2000) - 1000); b.sig |= 1ULL << 63; }
    else { b.se = (a.se & 0x8000) | ((a.se & 0x7FFF) + rn(140) - 70); b.sig = boundary_sig(); }
    if ((b.se & 0x7FFF) == 0x7FFF || (b.se & 0x7FFF) == 0) b.se = (b.se & 0x8000) | 0x3FFF;
    return b;
}

static f80 small_int_like(void) {
    /* values around integers and integer limits (FIST, FRNDINT, FBSTP) */
    f80 v;
    uint16_t sign = rn(2) ? 0x8000 : 0;
    int e = (int[]){14, 15, 16, 30, 31, 32, 59, 62, 63, 64, 0, 1, 5}[rn(13)];
    if (rn(3) == 0) e = rn(70) - 3;
    v.se = sign | (0x3FFF + e);
    if (rn(2)) v.sig = boundary_sig(); else v.sig = rnd() | (1ULL << 63);
    if (rn(6) == 0) v.sig = 1ULL << 63;
    /* make the fraction part interesting: mostly integer, .5, or random */
    if (e >= 0 && e < 63) {
        uint64_t fracmask = (~0ULL) >> (e + 1);
        switch (rn(4)) {
        case 0: v.sig &= ~fracmask; break;
        case 1: v.sig = (v.sig & ~fracmask) | ((fracmask >> 1) + 1); break;
        default: break;
        }
    }
    if (getenv("EDGE") && rn(3) == 0) { v.se = sign | (0x3FFF - 1 - rn(3)); v.sig = rn(2) ? (1ULL << 63) : boundary_sig(); return v; } /* around 0.5 */
    if (rn(5) == 0) {  /* 10^18 neighbourhood for FBSTP */
        v.se = sign | (0x3FFF + 59);
        v.sig = 0xDE0B6B3A76400000ULL + (uint64_t)(rn(4096) - 2048) * 256;
    }
    return v;
}

static uint16_t gen_cw(int allow_unmasked) {
    static const uint16_t pcs[3] = {0x000, 0x200, 0x300};
    uint16_t cw = 0x1040 | 0x3F | pcs[rn(3)] | (uint16_t)(rn(4) << 10);
    if (allow_unmasked && rn(10) == 0) {
        if (rn(2)) cw &= (uint16_t)~(rn(2) ? 0x18 : (0x08 << rn(2)));   /* OE and/or UE */
        else cw &= (uint16_t)~(rnd() & 0x3F);                             /* any subset */
    }
    return cw;
}

static f80 trig_arg(void) {
    f80 v;
    uint16_t sign = rn(2) ? 0x8000 : 0;
    int c = rn(20);
    if (c < 1) return gen_value(0);
    if (c < 3) { v.se = sign | (0x3FFF + 40 + rn(30)); v.sig = rnd() | (1ULL << 63); return v; } /* large / >= 2^63 */
    if (c < 5) { v.se = sign | (0x3FFF - 70 + rn(60)); v.sig = rnd() | (1ULL << 63); return v; } /* small */
    if (c < 7) { /* near multiples of pi/4 */
        v.se = sign | (0x3FFF + rn(8));
        v.sig = 0xC90FDAA22168C234ULL + (uint64_t)(rn(100000) - 50000);
        if (rn(2)) v.se = sign | (0x3FFF - 1 + rn(4));
        return v;
    }
    v.se = sign | (0x3FFF - 4 + rn(10)); v.sig = rnd() | (1ULL << 63);
    return v;
}

/* ---- driver ------------------------------------------------------------- */
typedef void (*reg_fn)(uint16_t, const f80 *, const f80 *, struct fsave *);
typedef void (*ld_fn)(uint16_t, const void *, struct fsave *);
typedef void (*st_fn)(uint16_t, const f80 *, void *, struct fsave *);
typedef void (*comi_fn)(uint16_t, const f80 *, const f80 *, struct fsave *, uint64_t *);

struct opdesc { const char *name; int kind; reg_fn r; ld_fn l; st_fn s; int width; comi_fn c; };

static const struct opdesc ops[] = {
    {"add", K_REG1, op_add}, {"sub", K_REG1, op_sub}, {"mul", K_REG1, op_mul}, {"div", K_REG1, op_div},
    {"sqrt", K_REG1, op_sqrt}, {"rndint", K_REG1, op_rndint}, {"prem", K_REG2, op_prem}, {"prem1", K_REG2, op_prem1},
    {"scale", K_REG1, op_scale}, {"xtract", K_REG1_2OUT, op_xtract}, {"com", K_CMP, op_com}, {"ucom", K_CMP, op_ucom},
    {"tst", K_CMP, op_tst}, {"xam", K_CMP, op_xam},
    {"sin", K_REG1, op_sin}, {"cos", K_REG1, op_cos}, {"sincos", K_REG1_2OUT, op_sincos}, {"ptan", K_REG1_2OUT, op_ptan},
    {"patan", K_REG1, op_patan}, {"f2xm1", K_REG1, op_f2xm1}, {"yl2x", K_REG1, op_yl2x}, {"yl2xp1", K_REG1, op_yl2xp1},
    {"fadd32", K_REG1, op_fadd32}, {"fadd64", K_REG1, op_fadd64}, {"fdiv32", K_REG1, op_fdiv32},
    {"fmul64", K_REG1, op_fmul64}, {"fcom32", K_CMP, op_fcom32}, {"fiadd32", K_REG1, op_fiadd32},
    {"fsubr32", K_REG1, op_fsubr32}, {"fdivr64", K_REG1, op_fdivr64}, {"fimul16", K_REG1, op_fimul16},
    {"ficom32", K_CMP, op_ficom32},
    {"comi", K_COMI, 0, 0, 0, 0, op_comi}, {"ucomi", K_COMI, 0, 0, 0, 0, op_ucomi},
    {"fldpi", K_REG1, op_ldpi}, {"fldl2t", K_REG1, op_ldl2t}, {"fldl2e", K_REG1, op_ldl2e},
    {"fldlg2", K_REG1, op_ldlg2}, {"fldln2", K_REG1, op_ldln2},
    {"fld32", K_MEMLOAD, 0, op_fld32, 0, 32}, {"fld64", K_MEMLOAD, 0, op_fld64, 0, 64},
    {"fild16", K_MEMLOAD, 0, op_fild16, 0, 16}, {"fild32", K_MEMLOAD, 0, op_fild32, 0, 32},
    {"fild64", K_MEMLOAD, 0, op_fild64, 0, 64}, {"fbld", K_MEMLOAD, 0, op_fbld, 0, 80},
    {"fst32", K_MEMSTORE, 0, 0, op_fst32, 32}, {"fst64", K_MEMSTORE, 0, 0, op_fst64, 64},
    {"fist16", K_MEMSTORE, 0, 0, op_fist16, 16}, {"fist32", K_MEMSTORE, 0, 0, op_fist32, 32},
    {"fist64", K_MEMSTORE, 0, 0, op_fist64, 64}, {"fbstp", K_MEMSTORE, 0, 0, op_fbstp, 80},
};
#define NOPS (int)(sizeof ops / sizeof ops[0])

static void pr80(const void *p) {
    f80 v; memcpy(&v, p, 10);
    printf(" %04x%016llx", v.se, (unsigned long long)v.sig);
}

static void gen_operands(const char *name, f80 *a, f80 *b) {
    int transc = !strcmp(name, "sin") || !strcmp(name, "cos") || !strcmp(name, "sincos") || !strcmp(name, "ptan");
    *a = gen_value(0);
    *b = rn(3) ? nearby(*a) : gen_value(0);
    if (!strcmp(name, "rndint") || !strncmp(name, "fist", 4) || !strcmp(name, "fbstp")) {
        if (rn(4)) *a = small_int_like();
    } else if (transc) {
        if (rn(10)) *a = trig_arg();
    } else if (!strcmp(name, "f2xm1")) {
        if (rn(10)) { a->se = (rn(2) ? 0x8000 : 0) | (0x3FFF - 1 - rn(rn(2) ? 4 : 70)); a->sig = rnd() | (1ULL << 63); }
    } else if (!strcmp(name, "yl2x")) {
        if (rn(10)) { a->se = 0x3FFF - 20 + rn(40); a->sig = rnd() | (1ULL << 63); if (rn(4) == 0) { a->se = 0x3FFE + rn(2); a->sig = rn(2) ? 0xFFFFFFFFFFFFFFFFULL - rn(1000) : (1ULL << 63) + rn(1000); } }
        if (rn(10)) { b->se = (rn(2) ? 0x8000 : 0) | (0x3FFF - 10 + rn(20)); b->sig = rnd() | (1ULL << 63); }
    } else if (!strcmp(name, "yl2xp1")) {
        if (rn(10)) { a->se = (rn(2) ? 0x8000 : 0) | (0x3FFF - 3 - rn(rn(2) ? 3 : 70)); a->sig = rnd() | (1ULL << 63); }
        if (rn(10)) { b->se = (rn(2) ? 0x8000 : 0) | (0x3FFF - 10 + rn(20)); b->sig = rnd() | (1ULL << 63); }
    } else if (!strcmp(name, "patan")) {
        if (rn(10)) { a->se = (rn(2) ? 0x8000 : 0) | (0x3FFF - 30 + rn(60)); a->sig = rnd() | (1ULL << 63);
                      b->se = (rn(2) ? 0x8000 : 0) | (0x3FFF - 30 + rn(60)); b->sig = rnd() | (1ULL << 63); }
    } else if (name[0] == 'f' && (name[1] == 'a' || name[1] == 'd' || name[1] == 'm' || name[1] == 'c' || name[1] == 'i')) {
        /* memory operand in b->sig: a float32/float64 (or int32) with special patterns */
        uint64_t x = rnd();
        int w64 = strstr(name, "64") != 0;
        int c = rn(8);
        if (!w64) {
            uint32_t e = c == 0 ? 0 : c == 1 ? 0xFF : (uint32_t)(((a->se & 0x7FFF) - 0x3FFF + 127 + rn(9) - 4) & 0xFF);
            x = (x & 0x807FFFFFULL) | ((uint64_t)e << 23);
            if (rn(3) == 0) x &= 0xFFFFF000;
            if (name[1] == 'i') x = rn(2) ? (uint32_t)rnd() : (uint32_t)(int32_t)(rn(2000) - 1000);
            if (!strcmp(name, "fimul16")) x &= 0xFFFF;
        } else {
            uint64_t e = c == 0 ? 0 : c == 1 ? 0x7FF : (uint64_t)(((a->se & 0x7FFF) - 0x3FFF + 1023 + rn(9) - 4) & 0x7FF);
            x = (x & 0x800FFFFFFFFFFFFFULL) | (e << 52);
            if (rn(3) == 0) x &= ~0xFFFFFFFFULL;
        }
        b->sig = x; b->se = 0;
    } else if (!strcmp(name, "scale")) {
        if (rn(4)) { int k = rn(4); b->se = (rn(3) ? 0 : 0x8000) | (0x3FFF + (k == 0 ? 14 + rn(3) : rn(14))); b->sig = rnd() | (1ULL << 63); }
    } else if (!strcmp(name, "prem") || !strcmp(name, "prem1")) {
        if (rn(3) == 0) { a->se = (a->se & 0x8000) | (0x3FFF + rn(200)); b->se = (b->se & 0x8000) | (0x3FFF - rn(20)); }
        if (getenv("EDGE") && rn(2)) { int d = 55 + rn(20); a->sig = boundary_sig(); b->sig = rn(2) ? boundary_sig() : a->sig - rn(3);
            int eb = 1 + rn(0x7FFE - 80); if (rn(4) == 0) eb = 1 + rn(10); a->se = (a->se & 0x8000) | (eb + d); b->se = (b->se & 0x8000) | eb; }
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s SEED CASES_PER_OP [op...]\n", argv[0]); return 2; }
    uint64_t seed = strtoull(argv[1], 0, 0);
    long n = strtol(argv[2], 0, 0);
    for (int oi = 0; oi < NOPS; oi++) {
        const struct opdesc *d = &ops[oi];
        if (argc > 3) {
            int want = 0;
            for (int i = 3; i < argc; i++) if (!strcmp(argv[i], d->name)) want = 1;
            if (!want) continue;
        }
        /* per-op stream so subsets are stable regardless of which ops run */
        rng_state = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)(oi + 1) * 0xD1B54A32D192ED03ULL;
        if (!rng_state) rng_state = 1;
        for (long i = 0; i < n; i++) {
            struct fsave sv; memset(&sv, 0, sizeof sv);
            f80 a, b, r1, r2; memset(&r1, 0, sizeof r1); memset(&r2, 0, sizeof r2);
            uint16_t cw;
            /* unmasked exceptions: register ops that do not push or pop, compares, stores */
            int allow_unmasked = (d->kind == K_REG1 && strcmp(d->name, "patan") && strcmp(d->name, "yl2x") && strcmp(d->name, "yl2xp1"))
                || d->kind == K_REG2 || d->kind == K_CMP || d->kind == K_COMI || d->kind == K_MEMSTORE;
            cw = gen_cw(allow_unmasked);
            gen_operands(d->name, &a, &b);
            if (d->kind == K_MEMLOAD) {
                uint8_t m[10]; memset(m, 0, sizeof m);
                uint64_t x = rnd();
                if (d->width == 80) {
                    /* mostly valid BCD */
                    uint64_t lo = 0; int digits = 1 + rn(18);
                    for (int k = 0; k < 16; k++) lo |= (uint64_t)(k < digits ? rn(10) : 0) << (4 * k);
                    uint16_t hi = 0;
                    for (int k = 16; k < 18; k++) hi |= (uint16_t)(k < digits ? rn(10) : 0) << (4 * (k - 16));
                    if (rn(2)) hi |= 0x8000;
                    memcpy(m, &lo, 8); memcpy(m + 8, &hi, 2);
                } else {
                    if (d->width == 32 && rn(3) == 0) { uint32_t e = rn(4) == 0 ? 0 : (rn(4) == 0 ? 0xFF : rn(256)); x = (x & 0x807FFFFF) | (e << 23); if (rn(3) == 0) x &= 0xFFFFF000; }
                    if (d->width == 64 && rn(3) == 0) { uint64_t e = rn(4) == 0 ? 0 : (rn(4) == 0 ? 0x7FF : rn(2048)); x = (x & 0x800FFFFFFFFFFFFFULL) | (e << 52); if (rn(3) == 0) x &= ~0xFFFFFFFFULL; }
                    if (d->width <= 32 && rn(4) == 0) x >>= rn(32);
                    memcpy(m, &x, 8);
                }
                d->l(cw, m, &sv);
                memset(&a, 0, sizeof a); memcpy(&a, m, 10);
                memcpy(&r1, sv.st, 10);
            } else if (d->kind == K_MEMSTORE) {
                uint8_t m[10]; memset(m, 0xA5, sizeof m);
                if (d->name[1] == 's') { /* fst32/fst64: exponent near destination range edges */
                    if (rn(2)) {
                        int eb = d->width == 32 ? 127 : 1023;
                        int edge = rn(2) ? (1 - eb) : eb;
                        a.se = (a.se & 0x8000) | (0x3FFF + edge + rn(d->width == 32 ? 30 : 60) - (d->width == 32 ? 15 : 30));
                        a.sig = boundary_sig();
                    }
                }
                d->s(cw, &a, m, &sv);
                memset(&r1, 0, sizeof r1);
                memcpy(&r1, m, d->width / 8);
            } else if (d->kind == K_CMP) {
                d->r(cw, &a, &b, &sv);
            } else if (d->kind == K_COMI) {
                uint64_t fl = 0;
                d->c(cw, &a, &b, &sv, &fl);
                r1.sig = fl & 0x45; r1.se = 0;
            } else {
                d->r(cw, &a, &b, &sv);
                memcpy(&r1, sv.st, 10);
                memcpy(&r2, sv.st + 10, 10);
            }
            printf("%s %04x", d->name, cw);
            pr80(&a); pr80(&b); pr80(&r1); pr80(&r2);
            printf(" %04x\n", sv.sw & 0x473F);
        }
    }
    return 0;
}
