; t7_sysinsn: miscellaneous system instructions.
;  CPUID (vendor, family 6, feature flags FPU TSC MSR CX8 SEP CMOV PSE PGE,
;  EFLAGS.ID), RDTSC monotonic and CR4.TSD, WRMSR/RDMSR TSC and SYSENTER
;  MSRs 174h-176h, SYSEXIT to ring 3 and SYSENTER back, INVD/WBINVD/CLTS,
;  MOV to/from DRx (DR4/5 aliasing, CR4.DE) and CRx, CMPXCHG8B, BSWAP, CMOV.
%define TESTNAME "t7_sysinsn"
%include "lib.inc"

S_SYSCS     equ 0x48        ; SYSENTER_CS: 48 code0, 50 data0, 58 code3, 60 data3
MSR_TSC     equ 0x10
MSR_SECS    equ 0x174
MSR_SEESP   equ 0x175
MSR_SEEIP   equ 0x176
SYS_ESP     equ 0x7F00
tv          equ tvar

test_main:
    GROUP 0x71, "cpuid_tests"
    call cpuid_tests
    GROUP 0x72, "tsc_tests"
    call tsc_tests
    GROUP 0x73, "msr_sysenter_tests"
    call msr_sysenter_tests
    GROUP 0x74, "cache_tests"
    call cache_tests
    GROUP 0x75, "drx_crx_tests"
    call drx_crx_tests
    GROUP 0x76, "cx8_bswap_tests"
    call cx8_bswap_tests
    ret

; --------------------------------------------------------------------------
%macro FEAT 2   ; name, bit
    mov eax, [tv+0x08]
    shr eax, %2
    and eax, 1
    CHK {"CPUID.1:EDX.", %1}, eax, 1
%endmacro
cpuid_tests:
    ; EFLAGS.ID toggles
    pushfd
    pop eax
    mov ebx, eax
    xor eax, 0x200000
    push eax
    popfd
    pushfd
    pop eax
    xor eax, ebx
    and eax, 0x200000
    CHK "EFLAGS.ID is writable (CPUID present)", eax, 0x200000
    push ebx
    popfd
    xor eax, eax
    cpuid
    mov [tv+0x10], ebx
    mov [tv+0x14], edx
    mov [tv+0x18], ecx
    mov byte [tv+0x1C], 0
    mov [tv+0x0C], eax
    cmp eax, 1
    setae al
    movzx eax, al
    CHK "CPUID.0: max basic leaf >= 1", eax, 1
    pushad
    mov esi, msg_vendor
    call puts
    mov esi, tv+0x10
    call puts
    mov esi, msg_maxleaf
    call puts
    mov eax, [tv+0x0C]
    call puthex
    call newline
    popad
    mov eax, 1
    cpuid
    mov [tv+0x04], eax
    mov [tv+0x08], edx
    pushad
    mov esi, msg_sig
    call puts
    mov eax, [tv+0x04]
    call puthex
    mov esi, msg_edx
    call puts
    mov eax, [tv+0x08]
    call puthex
    call newline
    popad
    mov eax, [tv+0x04]
    shr eax, 8
    and eax, 0xF
    CHK "CPUID.1: family 6", eax, 6
    mov eax, [tv+0x04]
    and eax, 0x0FFF
    mov ebx, [reset_edx]
    and ebx, 0x0FFF
    CHK "CPUID.1:EAX[11:0] = EDX at reset", eax, ebx
    FEAT "FPU", 0
    mov eax, [tv+0x08]
    test eax, 2
    jnz .vme
    PRINT "INFO: CPUID.1:EDX.VME = 0 (t6_v86 skips its VME part)"
.vme:
    FEAT "PSE", 3
    FEAT "TSC", 4
    FEAT "MSR", 5
    FEAT "CX8", 8
    FEAT "SEP", 11
    FEAT "PGE", 13
    FEAT "CMOV", 15
    ; a leaf above the maximum returns the highest basic leaf (SDM CPUID)
    mov eax, [tv+0x0C]
    xor ecx, ecx                ; sub-leaf 0 (leaf 4 has sub-leaves)
    cpuid
    mov [tv+0x60], eax
    mov [tv+0x64], ebx
    mov eax, 0x7FFFFFF0
    xor ecx, ecx
    cpuid
    CHK "CPUID leaf above max (7FFFFFF0) = highest basic leaf: EAX", eax, [tv+0x60]
    CHK "CPUID leaf above max (7FFFFFF0) = highest basic leaf: EBX", ebx, [tv+0x64]
    ; repeatable
    mov eax, 1
    cpuid
    CHK "CPUID.1 repeatable", eax, [tv+0x04]
    ret
msg_vendor:  db "INFO: CPUID vendor ", 0
msg_maxleaf: db ", max leaf ", 0
msg_sig:     db "INFO: CPUID.1 EAX=", 0
msg_edx:     db " EDX=", 0

; --------------------------------------------------------------------------
tsc_tests:
    rdtsc
    mov esi, eax
    mov edi, edx
    mov ecx, 1000
.l: loop .l
    rdtsc
    sub eax, esi
    sbb edx, edi                ; t2 - t1 > 0
    setnc bl
    or eax, edx
    setnz bh
    and bl, bh
    movzx ebx, bl
    CHK "RDTSC monotonic (t2 > t1)", ebx, 1
    ; WRMSR TSC: only a value below 2^32 is written, so both the P6
    ; behaviour (upper half cleared) and later full 64-bit writes agree.
    ; QEMU 7.2 TCG ignores writes to the TSC (XFAIL there).
    mov ecx, MSR_TSC
    xor edx, edx
    mov eax, 0x34000000
    wrmsr
    rdtsc
    CHKQ "WRMSR TSC: high dword 0", edx, 0
    sub eax, 0x34000000
    cmp eax, 0x01000000
    setb al
    movzx eax, al
    CHKQ "WRMSR TSC: counts on from the written value", eax, 1
    ; CR4.TSD
    R3EXPECT "RDTSC at CPL3 with TSD=0", -1, 0, r3_rdtsc
    mov eax, cr4
    or eax, 4
    mov cr4, eax
    EXPECT "RDTSC at CPL0 with TSD=1", -1, 0, {rdtsc}
    R3EXPECT "RDTSC at CPL3 with TSD=1 -> #GP(0)", 13, 0, r3_rdtsc
    mov eax, cr4
    and eax, ~4
    mov cr4, eax
    ret
r3_rdtsc:
    rdtsc
    int VEC_RING0

; --------------------------------------------------------------------------
msr_sysenter_tests:
    SETDESC S_SYSCS,    0, 0xFFFFF, 0x9A, 0xC
    SETDESC S_SYSCS+8,  0, 0xFFFFF, 0x92, 0xC
    SETDESC S_SYSCS+16, 0, 0xFFFFF, 0xFA, 0xC
    SETDESC S_SYSCS+24, 0, 0xFFFFF, 0xF2, 0xC
%macro MSRRT 3  ; name, msr, value
    mov ecx, %2
    mov eax, %3
    xor edx, edx
    wrmsr
    xor eax, eax
    rdmsr
    CHK {%1, " write/read"}, eax, %3
%endmacro
    MSRRT "SYSENTER_CS (174h)", MSR_SECS, 0x1234
    MSRRT "SYSENTER_ESP (175h)", MSR_SEESP, 0x87654321
    MSRRT "SYSENTER_EIP (176h)", MSR_SEEIP, 0xCAFE0000
    ; SYSENTER with SYSENTER_CS = 0 -> #GP(0)
    mov ecx, MSR_SECS
    xor eax, eax
    xor edx, edx
    wrmsr
    EXPECT "SYSENTER with SYSENTER_CS=0 -> #GP(0)", 13, 0, {sysenter}
    EXPECT "SYSEXIT with SYSENTER_CS=0 -> #GP(0)", 13, 0, {mov edx, 0}, {mov ecx, 0}, {sysexit}
    ; real setup
    mov ecx, MSR_SECS
    mov eax, S_SYSCS
    xor edx, edx
    wrmsr
    mov ecx, MSR_SEESP
    mov eax, SYS_ESP
    wrmsr
    mov ecx, MSR_SEEIP
    mov eax, sysenter_entry
    wrmsr
    ; SYSEXIT to ring 3: EIP = EDX, ESP = ECX
    pushfd
    pushad
    mov [r3_save_esp], esp
    mov ax, SEL_DATA3
    mov ds, ax
    mov es, ax
    mov edx, r3_after_sysexit
    mov ecx, STACK3 - 0x40
    sysexit
sysenter_entry:                 ; CPL0 again
    mov [tv+0x30], esp
    mov ax, cs
    movzx eax, ax
    mov [tv+0x34], eax
    mov ax, ss
    movzx eax, ax
    mov [tv+0x38], eax
    pushfd
    pop eax
    mov [tv+0x3C], eax
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, [r3_save_esp]
    popad
    popfd
    CHK "SYSEXIT: ring-3 CS = SYSENTER_CS+16|3", [tv+0x20], S_SYSCS+16+3
    CHK "SYSEXIT: ring-3 SS = SYSENTER_CS+24|3", [tv+0x24], S_SYSCS+24+3
    CHK "SYSEXIT: ESP = ECX", [tv+0x28], STACK3 - 0x40
    CHK "SYSENTER: ESP = SYSENTER_ESP", [tv+0x30], SYS_ESP
    CHK "SYSENTER: CS = SYSENTER_CS", [tv+0x34], S_SYSCS
    CHK "SYSENTER: SS = SYSENTER_CS+8", [tv+0x38], S_SYSCS+8
    mov eax, [tv+0x3C]
    and eax, 0x20200
    CHK "SYSENTER: IF and VM clear", eax, 0
    R3EXPECT "SYSEXIT at CPL3 -> #GP(0)", 13, 0, r3_sysexit
    ; the MSRs themselves are privileged
    R3EXPECT "RDMSR at CPL3 -> #GP(0)", 13, 0, r3_rdmsr
    ret

r3_after_sysexit:
    mov ax, cs
    movzx eax, ax
    mov [tv+0x20], eax
    mov ax, ss
    movzx eax, ax
    mov [tv+0x24], eax
    mov [tv+0x28], esp
    sysenter
r3_sysexit:
    sysexit
r3_rdmsr:
    mov ecx, MSR_SECS
    rdmsr
    int VEC_RING0

; --------------------------------------------------------------------------
cache_tests:
    EXPECT "WBINVD at CPL0", -1, 0, {wbinvd}
    EXPECT "INVD at CPL0", -1, 0, {invd}
    R3EXPECT "INVD at CPL3 -> #GP(0)", 13, 0, r3_invd
    R3EXPECT "WBINVD at CPL3 -> #GP(0)", 13, 0, r3_wbinvd
    R3EXPECT "CLTS at CPL3 -> #GP(0)", 13, 0, r3_clts
    mov eax, cr0
    or eax, 8
    mov cr0, eax
    clts
    mov eax, cr0
    and eax, 8
    CHK "CLTS clears CR0.TS", eax, 0
    ret
r3_invd:
    invd
    int VEC_RING0
r3_wbinvd:
    wbinvd
    int VEC_RING0
r3_clts:
    clts
    int VEC_RING0

; --------------------------------------------------------------------------
drx_crx_tests:
%macro DRRT 2
    mov eax, %2
    mov dr%1, eax
    xor eax, eax
    mov eax, dr%1
    CHK {"MOV DR", %str(%1), " write/read"}, eax, %2
%endmacro
    DRRT 0, 0x11111110
    DRRT 1, 0x22222220
    DRRT 2, 0x33333330
    DRRT 3, 0x44444440
    xor eax, eax
    mov dr0, eax
    mov dr1, eax
    mov dr2, eax
    mov dr3, eax
    mov dr6, eax
    mov eax, dr6
    CHK "DR6 after writing 0 reads FFFF0FF0", eax, 0xFFFF0FF0
    xor eax, eax
    mov dr7, eax
    mov eax, dr7
    CHK "DR7 after writing 0 reads 00000400", eax, 0x400
    ; DR4/DR5 alias DR6/DR7 while CR4.DE = 0
    mov eax, 0x00000001
    mov dr7, eax                ; L0 with DR0 = 0: harmless (no code at 0)
    mov eax, dr5
    CHK "CR4.DE=0: DR5 aliases DR7", eax, 0x401
    xor eax, eax
    mov dr7, eax
    mov eax, 0xF
    mov dr4, eax                ; -> DR6
    mov eax, dr6
    and eax, 0xF
    CHK "CR4.DE=0: DR4 aliases DR6", eax, 0xF
    xor eax, eax
    mov dr6, eax
    mov eax, cr4
    or eax, 8                   ; DE
    mov cr4, eax
    EXPECT "CR4.DE=1: MOV from DR4 -> #UD", 6, 0, {mov eax, dr4}
    EXPECT "CR4.DE=1: MOV to DR5 -> #UD", 6, 0, {mov dr5, eax}
    mov eax, cr4
    and eax, ~8
    mov cr4, eax
    R3EXPECT "MOV from DR7 at CPL3 -> #GP(0)", 13, 0, r3_movdr
    ; control registers
    mov eax, 0x12345678
    mov cr2, eax
    xor eax, eax
    mov eax, cr2
    CHK "MOV CR2 write/read", eax, 0x12345678
    mov ebx, cr3
    mov eax, 0x00234018         ; PWT|PCD
    mov cr3, eax
    mov eax, cr3
    mov cr3, ebx
    CHK "MOV CR3 write/read (incl. PWT/PCD)", eax, 0x00234018
    mov ebx, cr4
    mov eax, ebx
    or eax, 0x10                ; PSE
    mov cr4, eax
    mov eax, cr4
    mov cr4, ebx
    and eax, 0x10
    CHK "MOV CR4 PSE write/read", eax, 0x10
    mov ebx, cr0
    mov eax, ebx
    and eax, ~0x10              ; try to clear ET
    mov cr0, eax
    mov eax, cr0
    mov cr0, ebx
    and eax, 0x10
    CHK "CR0.ET is hardwired to 1", eax, 0x10
    mov eax, ebx
    or eax, 0x20                ; NE
    mov cr0, eax
    mov eax, cr0
    mov cr0, ebx
    and eax, 0x20
    CHK "MOV CR0 NE write/read", eax, 0x20
    ret
r3_movdr:
    mov eax, dr7
    int VEC_RING0

; --------------------------------------------------------------------------
cx8_bswap_tests:
    mov dword [tv+0x40], 0x11112222
    mov dword [tv+0x44], 0x33334444
    mov eax, 0x11112222
    mov edx, 0x33334444
    mov ebx, 0xAAAABBBB
    mov ecx, 0xCCCCDDDD
    lock cmpxchg8b [tv+0x40]
    setz al
    movzx eax, al
    CHK "CMPXCHG8B equal: ZF=1", eax, 1
    CHK "CMPXCHG8B equal: low stored", [tv+0x40], 0xAAAABBBB
    CHK "CMPXCHG8B equal: high stored", [tv+0x44], 0xCCCCDDDD
    mov eax, 1
    mov edx, 2
    mov ebx, 3
    mov ecx, 4
    cmpxchg8b [tv+0x40]
    setz bl
    movzx ebx, bl
    CHK "CMPXCHG8B not equal: ZF=0", ebx, 0
    CHK "CMPXCHG8B not equal: EAX loaded", eax, 0xAAAABBBB
    CHK "CMPXCHG8B not equal: EDX loaded", edx, 0xCCCCDDDD
    CHK "CMPXCHG8B not equal: memory unchanged", [tv+0x40], 0xAAAABBBB
    EXPECT "CMPXCHG8B register operand -> #UD", 6, 0, {db 0x0F, 0xC7, 0xC8}
    mov eax, 0x11223344
    bswap eax
    CHK "BSWAP EAX", eax, 0x44332211
    mov edi, 0x01020304
    bswap edi
    CHK "BSWAP EDI", edi, 0x04030201
    xor eax, eax
    mov ecx, 5
    mov edx, 7
    cmp eax, 0
    cmove ecx, edx
    CHK "CMOVE taken", ecx, 7
    cmovne ecx, eax
    CHK "CMOVNE not taken", ecx, 7
    ret
