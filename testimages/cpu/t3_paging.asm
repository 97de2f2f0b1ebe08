; t3_paging: 32-bit paging (no PAE).
;  - 4 KiB pages and 4 MiB pages (CR4.PSE)
;  - accessed / dirty bits written back to PDE/PTE
;  - #PF error codes for all P, W/R, U/S combinations (plus RSVD) with CR2,
;    faulting EIP
;  - CR0.WP for supervisor writes to read-only pages
;  - INVLPG and CR3 reload make new mappings visible; CR4.PGE global pages
;    (whether a stale entry survives is reported as INFO only: the SDM allows
;    but does not require TLB caching)
%define TESTNAME "t3_paging"
%include "lib.inc"

PD      equ 0x100000
PT0     equ 0x101000            ; identity 0-4 MiB, user, RW
PTT     equ 0x102000            ; test page table for linear 0x1000000-0x13FFFFF
LT      equ 0x1000000           ; test pages
PHYS    equ 0x200000            ; backing frames for the test pages
L4M     equ 0x1800000           ; 4 MiB page -> phys 0x400000
LRSVD   equ 0x1400000           ; 4 MiB PDE with reserved bit 21 set

PG_P    equ 1
PG_W    equ 2
PG_U    equ 4
PG_A    equ 0x20
PG_D    equ 0x40
PG_PS   equ 0x80
PG_G    equ 0x100

%define PTE(n) (PTT + (n)*4)

test_main:
    ; CPUID: PSE (EDX bit 3) and PGE (EDX bit 13)
    mov eax, 1
    cpuid
    mov [tvar+0x40], edx

    ; build page directory and tables
    mov edi, PD
    mov ecx, 3*1024
    xor eax, eax
    rep stosd
    mov edi, PT0
    mov eax, PG_P|PG_W|PG_U
.pt0:
    stosd
    add eax, 0x1000
    cmp edi, PT0+4096
    jb .pt0
    mov dword [PD+0*4], PT0|PG_P|PG_W|PG_U
    mov dword [PD+1*4], 0x400000|PG_P|PG_W|PG_U|PG_PS
    mov dword [PD+2*4], 0x800000|PG_P|PG_W|PG_U|PG_PS
    mov dword [PD+3*4], 0xC00000|PG_P|PG_W|PG_U|PG_PS
    mov dword [PD+4*4], PTT|PG_P|PG_W|PG_U
    mov dword [PD+5*4], 0x400000|PG_P|PG_W|PG_PS|(1<<21)
    mov dword [PD+6*4], 0x400000|PG_P|PG_W|PG_U|PG_PS
    mov dword [PTE(0)], (PHYS+0x0000)|PG_P|PG_W|PG_U
    mov dword [PTE(1)], 0
    mov dword [PTE(2)], (PHYS+0x1000)|PG_P|PG_U
    mov dword [PTE(3)], (PHYS+0x2000)|PG_P|PG_W
    mov dword [PTE(4)], (PHYS+0x3000)|PG_P
    mov dword [PTE(5)], (PHYS+0x4000)|PG_P|PG_W
    mov dword [PTE(6)], (PHYS+0x6000)|PG_P|PG_W|PG_G
    ; distinct contents in the backing frames
    mov dword [PHYS+0x0000], 0xA0A0A0A0
    mov dword [PHYS+0x1000], 0xA1A1A1A1
    mov dword [PHYS+0x2000], 0xA2A2A2A2
    mov dword [PHYS+0x3000], 0xA3A3A3A3
    mov dword [PHYS+0x4000], 0xA4A4A4A4
    mov dword [PHYS+0x5000], 0xA5A5A5A5
    mov dword [PHYS+0x6000], 0xA6A6A6A6
    mov dword [PHYS+0x7000], 0xA7A7A7A7
    mov dword [0x400000+0x123450], 0x44444444

    test dword [tvar+0x40], 1<<3
    jnz .have_pse
    FAILMSG "CPUID.1:EDX.PSE (bit 3) not set, 4 MiB pages untested"
.have_pse:
    mov eax, cr4
    or eax, 0x10                        ; PSE
    mov cr4, eax
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp .paged                          ; (identity mapped)
.paged:
    mov eax, cr0
    shr eax, 31
    CHK "CR0.PG set, execution continues (identity map)", eax, 1
    mov eax, cr3
    CHK "CR3 reads back", eax, PD

    GROUP 0x31, "4K/4M pages, A/D bits"
    ; --- 4K mapping and A/D bits ---
    mov eax, [PTE(0)]
    and eax, PG_A|PG_D
    CHK "PTE A/D clear before access", eax, 0
    mov eax, [LT]
    CHK "4K page: linear 1000000 -> phys 200000", eax, 0xA0A0A0A0
    mov eax, [PTE(0)]
    and eax, PG_A|PG_D
    CHK "PTE after read: A=1 D=0", eax, PG_A
    mov eax, [PD+4*4]
    and eax, PG_A
    CHK "PDE after read: A=1", eax, PG_A
    mov dword [LT+4], 0x12345678
    mov eax, [PTE(0)]
    and eax, PG_A|PG_D
    CHK "PTE after write: A=1 D=1", eax, PG_A|PG_D
    CHK "4K page: write lands in phys frame", [PHYS+4], 0x12345678

    ; --- 4 MiB page ---
    mov eax, [PD+6*4]
    and eax, PG_A|PG_D
    CHK "4M PDE A/D clear before access", eax, 0
    mov eax, [L4M+0x123450]
    CHK "4M page: linear 1923450 -> phys 523450", eax, 0x44444444
    mov eax, [PD+6*4]
    and eax, PG_A|PG_D
    CHK "4M PDE after read: A=1 D=0", eax, PG_A
    mov dword [L4M+0x3FFFFC], 0x55667788
    mov eax, [PD+6*4]
    and eax, PG_A|PG_D
    CHK "4M PDE after write: A=1 D=1", eax, PG_A|PG_D
    CHK "4M page: write lands at phys 7FFFFC", [0x7FFFFC], 0x55667788

    GROUP 0x32, "supervisor #PF, CR0.WP"
    ; --- with CR4.PSE=0 the PS bit is ignored: the PDE points to a table ---
    mov dword [0x400000 + 5*4], (PHYS+0x5000)|PG_P|PG_W|PG_U
    mov eax, cr4
    and eax, ~0x10
    mov cr4, eax
    mov eax, cr3
    mov cr3, eax
    mov eax, [L4M+0x5000]
    mov ebx, cr4
    or ebx, 0x10
    mov cr4, ebx
    mov ebx, cr3
    mov cr3, ebx
    CHK "CR4.PSE=0: PDE.PS ignored, PDE points to a page table", eax, 0xA5A5A5A5
    mov dword [0x405000], 0x45454545
    mov eax, [L4M+0x5000]
    CHK "CR4.PSE=1 again: same PDE maps a 4M page", eax, 0x45454545

    ; --- supervisor #PF error codes ---
    EXPECT "#PF sup read not-present", 14, 0, {mov eax, [LT+0x1010]}
    CHK "#PF sup read not-present: CR2", [exc_cr2], LT+0x1010
    TRY .eiprec
.pf_insn:
    mov dword [LT+0x1020], 1
.eiprec:
    ENDTRY
    CHK "#PF sup write not-present: vector", [exc_vec], 14
    CHK "#PF sup write not-present: error code", [exc_err], 2
    CHK "#PF sup write not-present: CR2", [exc_cr2], LT+0x1020
    CHK "#PF is a fault: pushed EIP = faulting insn", [exc_eip], .pf_insn
    EXPECT "#PF instruction fetch not-present", 14, 0, {call LT+0x1800}
    CHK "#PF instruction fetch: CR2", [exc_cr2], LT+0x1800
    CHK "#PF instruction fetch: pushed EIP", [exc_eip], LT+0x1800
    ; accesses that straddle into the not-present page 1
    mov dword [LT+0xFF0], 0x11111111
    mov dword [LT+0xFF4], 0x22222222
    mov dword [LT+0xFF8], 0x33333333
    mov dword [LT+0xFFC], 0x44444444
    EXPECT "#PF dword write straddling into not-present page", 14, 2, {mov dword [LT+0xFFE], 0x55667788}
    CHK "#PF straddling write: CR2 = start of the missing page", [exc_cr2], LT+0x1000
    EXPECT "#PF dword read straddling into not-present page", 14, 0, {mov eax, [LT+0xFFD]}
    CHK "#PF straddling read: CR2 = start of the missing page", [exc_cr2], LT+0x1000
    ; instruction whose last bytes lie in the not-present page
    mov byte [LT+0xFFD], 0xB8           ; mov eax, imm32 (bytes FFD-1001)
    EXPECT "#PF instruction fetch straddling pages", 14, 0, {call LT+0xFFD}
    CHK "#PF straddling fetch: CR2 = start of the missing page", [exc_cr2], LT+0x1000
    CHK "#PF straddling fetch: EIP = instruction start", [exc_eip], LT+0xFFD
    ; REP MOVSD faulting in the middle: the registers show the progress and
    ; EIP points at the (prefixed) instruction so it can be restarted
    mov dword [tvar+0x60], 0xD0D0D0D0
    mov dword [tvar+0x64], 0xD1D1D1D1
    mov dword [tvar+0x68], 0xD2D2D2D2
    mov dword [tvar+0x6C], 0xD3D3D3D3
    TRY .movs_rec
    cld
    mov esi, tvar+0x60
    mov edi, LT+0xFF8
    mov ecx, 4
.movs_insn:
    rep movsd
.movs_rec:
    ENDTRY
    CHK "REP MOVSD #PF: vector", [exc_vec], 14
    CHK "REP MOVSD #PF: EIP = REP prefix", [exc_eip], .movs_insn
    CHK "REP MOVSD #PF: CR2", [exc_cr2], LT+0x1000
    CHK "REP MOVSD #PF: ECX = remaining", ecx, 2
    CHK "REP MOVSD #PF: ESI advanced by 2", esi, tvar+0x68
    CHK "REP MOVSD #PF: EDI advanced by 2", edi, LT+0x1000
    CHK "REP MOVSD #PF: first dwords copied", [LT+0xFFC], 0xD1D1D1D1
    EXPECT "sup read of user read-only page ok", -1, 0, {mov eax, [LT+0x2000]}
    EXPECT "sup read of sup page ok", -1, 0, {mov eax, [LT+0x3000]}
    ; CR0.WP
    EXPECT "WP=0: sup write to read-only page ok", -1, 0, {mov dword [LT+0x4008], 0x99}
    CHK "WP=0: write landed", [PHYS+0x3008], 0x99
    mov eax, cr0
    or eax, 0x10000
    mov cr0, eax
    EXPECT "WP=1: sup write to read-only sup page", 14, 3, {mov dword [LT+0x4010], 1}
    CHK "WP=1: CR2", [exc_cr2], LT+0x4010
    EXPECT "WP=1: sup write to read-only user page", 14, 3, {mov dword [LT+0x2010], 1}
    CHK "WP=1: nothing written", [PHYS+0x1010], 0
    ; CMPXCHG always performs a write cycle, even when the compare fails
    mov dword [PHYS+0x3020], 0x77
    EXPECT "WP=1: CMPXCHG (compare fails) on read-only page", 14, 3, {mov eax, 0}, {mov ecx, 1}, {cmpxchg [LT+0x4020], ecx}
    EXPECT "WP=1: CMPXCHG8B (compare fails) on read-only page", 14, 3, {xor eax, eax}, {xor edx, edx}, {cmpxchg8b [LT+0x4020]}
    EXPECT "WP=1: read-modify-write ADD on read-only page", 14, 3, {add dword [LT+0x4020], 0}
    CHK "WP=1: read-only page unchanged", [PHYS+0x3020], 0x77
    EXPECT "WP=1: plain read of read-only page ok", -1, 0, {mov eax, [LT+0x4020]}
    mov eax, cr0
    and eax, ~0x10000
    mov cr0, eax
    ; reserved bit in a 4 MiB PDE: error code P=1 RSVD=1
    ; QEMU 7.2 TCG reports 8 (P=0); the SDM says P=1 (entry present, RSVD=1)
    EXPECTQ "#PF reserved bit 21 in 4M PDE", 14, 9, {mov eax, [LRSVD+0x100]}
    CHK "#PF reserved bit: CR2", [exc_cr2], LRSVD+0x100

    GROUP 0x33, "user #PF"
    ; --- user-mode #PF error codes ---
    R3EXPECT "#PF user read not-present", 14, 4, r3_read_np
    CHK "#PF user read not-present: CR2", [exc_cr2], LT+0x1030
    R3EXPECT "#PF user write not-present", 14, 6, r3_write_np
    CHK "#PF user write not-present: CR2", [exc_cr2], LT+0x1040
    R3EXPECT "#PF user read of sup page", 14, 5, r3_read_sup
    CHK "#PF user read of sup page: CR2", [exc_cr2], LT+0x3050
    R3EXPECT "#PF user write of sup page", 14, 7, r3_write_sup
    CHK "#PF user write of sup page: CR2", [exc_cr2], LT+0x3060
    R3EXPECT "#PF user write of read-only user page", 14, 7, r3_write_ro
    CHK "#PF user write of read-only user page: CR2", [exc_cr2], LT+0x2070
    ; user stack in a not-present page: PUSH / CALL fault with ESP unchanged
    R3EXPECT "#PF user PUSH into not-present stack page", 14, 6, r3_push_np
    CHK "#PF user PUSH: CR2", [exc_cr2], LT+0x1FFC
    CHK "#PF user PUSH: ESP unchanged", [exc_esp3], LT+0x2000
    CHK "#PF user PUSH: EIP = PUSH", [exc_eip], r3_push_np.insn
    R3EXPECT "#PF user CALL with not-present stack page", 14, 6, r3_call_np
    CHK "#PF user CALL: ESP unchanged", [exc_esp3], LT+0x2000
    CHK "#PF user CALL: EIP = CALL", [exc_eip], r3_call_np.insn
    R3EXPECT "user read of read-only user page ok", -1, 0, r3_read_ro
    R3EXPECT "user write of RW user page ok", -1, 0, r3_write_rw
    ; read-only PDE with a writable PTE -> read-only for user mode
    and dword [PD+4*4], ~PG_W
    mov eax, cr3
    mov cr3, eax
    R3EXPECT "#PF user write, PDE R/W=0 PTE R/W=1", 14, 7, r3_write_rw
    R3EXPECT "user read, PDE R/W=0 PTE R/W=1 ok", -1, 0, r3_read_rw
    or dword [PD+4*4], PG_W
    mov eax, cr3
    mov cr3, eax
    ; supervisor PDE with user PTE -> still supervisor-only
    and dword [PD+4*4], ~PG_U
    mov eax, cr3
    mov cr3, eax
    R3EXPECT "#PF user read, PDE U=0 PTE U=1", 14, 5, r3_read_rw
    or dword [PD+4*4], PG_U
    mov eax, cr3
    mov cr3, eax

    GROUP 0x34, "INVLPG, CR3 reload, global pages"
    ; --- INVLPG ---
    mov eax, [LT+0x5000]
    CHK "INVLPG setup: page 5 -> A4 frame", eax, 0xA4A4A4A4
    mov dword [PTE(5)], (PHYS+0x5000)|PG_P|PG_W
    mov eax, [LT+0x5000]
    cmp eax, 0xA4A4A4A4
    jne .nostale
    PRINT "INFO: stale TLB entry seen after PTE change without INVLPG"
    jmp .s1
.nostale:
    PRINT "INFO: no stale TLB entry after PTE change (allowed)"
.s1:
    invlpg [LT+0x5000]
    mov eax, [LT+0x5000]
    CHK "INVLPG: new mapping visible", eax, 0xA5A5A5A5

    ; --- CR3 reload flushes non-global entries ---
    mov dword [PTE(5)], (PHYS+0x4000)|PG_P|PG_W
    mov eax, cr3
    mov cr3, eax
    mov eax, [LT+0x5000]
    CHK "CR3 reload: new mapping visible", eax, 0xA4A4A4A4

    ; --- global pages ---
    test dword [tvar+0x40], 1<<13
    jnz .have_pge
    SKIPMSG "global pages: CPUID.1:EDX.PGE (bit 13) not set"
    jmp .pge_done
.have_pge:
    mov eax, cr4
    or eax, 0x80                        ; PGE
    mov cr4, eax
    mov eax, cr4
    and eax, 0x90
    CHK "CR4 reads back PSE|PGE", eax, 0x90
    mov eax, [LT+0x6000]
    CHK "global page: maps A6 frame", eax, 0xA6A6A6A6
    mov dword [PTE(6)], (PHYS+0x7000)|PG_P|PG_W|PG_G
    mov eax, cr3
    mov cr3, eax
    mov eax, [LT+0x6000]
    cmp eax, 0xA6A6A6A6
    jne .g_nostale
    PRINT "INFO: global TLB entry survived CR3 reload"
    jmp .g1
.g_nostale:
    PRINT "INFO: global entry not retained across CR3 reload (allowed)"
.g1:
    invlpg [LT+0x6000]
    mov eax, [LT+0x6000]
    CHK "global page: INVLPG flushes it", eax, 0xA7A7A7A7
    mov dword [PTE(6)], (PHYS+0x6000)|PG_P|PG_W|PG_G
    mov eax, [LT+0x6000]                ; may cache A7 again
    mov eax, cr4
    and eax, ~0x80                      ; clearing PGE flushes everything
    mov cr4, eax
    or eax, 0x80
    mov cr4, eax
    mov eax, [LT+0x6000]
    CHK "global page: toggling CR4.PGE flushes it", eax, 0xA6A6A6A6
.pge_done:

    ; --- paging off again ---
    mov eax, cr0
    and eax, 0x7FFFFFFF
    mov cr0, eax
    jmp .unpaged
.unpaged:
    mov eax, cr0
    shr eax, 31
    CHK "CR0.PG cleared again", eax, 0
    mov eax, [LT & 0xFFFFFF]            ; would be garbage if still paged
    mov eax, [PHYS]
    CHK "unpaged: physical access", eax, 0xA0A0A0A0
    ret

; --- ring-3 probes ---
r3_read_np:
    mov eax, [LT+0x1030]
    int VEC_RING0
r3_write_np:
    mov dword [LT+0x1040], 1
    int VEC_RING0
r3_read_sup:
    mov eax, [LT+0x3050]
    int VEC_RING0
r3_write_sup:
    mov dword [LT+0x3060], 1
    int VEC_RING0
r3_write_ro:
    mov dword [LT+0x2070], 1
    int VEC_RING0
r3_push_np:
    mov esp, LT+0x2000          ; page 1 (below it) is not present
.insn:
    push eax
    int VEC_RING0
r3_call_np:
    mov esp, LT+0x2000
.insn:
    call r3_read_ro
    int VEC_RING0
r3_read_ro:
    mov eax, [LT+0x2080]
    int VEC_RING0
r3_write_rw:
    mov dword [LT+0x90], 1
    int VEC_RING0
r3_read_rw:
    mov eax, [LT+0xA0]
    int VEC_RING0
