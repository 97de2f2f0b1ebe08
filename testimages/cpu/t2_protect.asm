; t2_protect: segment descriptor and privilege checks.
;  - null / out-of-limit / not-present / wrong-type selectors into DS, SS, CS
;    (#GP, #NP, #SS with selector error codes)
;  - limit violations (#GP(0), #SS(0)), expand-down, read-only data writes,
;    execute-only code reads
;  - conforming vs non-conforming code, LAR/LSL/VERR/VERW/ARPL
;  - ring 3 entry via IRET and RETF, call gate with parameter copy and TSS
;    stack switch, return to ring 3, INT from ring 3 via DPL3 / DPL0 gates
%define TESTNAME "t2_protect"
%include "lib.inc"

S_NPDATA    equ 0x48        ; data RW, not present
S_RODATA    equ 0x50        ; data read-only, base 100000, limit FFF
S_RWSMALL   equ 0x58        ; data RW, base 100000, limit FFF
S_XONLY     equ 0x60        ; code execute-only, flat, 32-bit
S_CONF0     equ 0x68        ; code conforming DPL0 readable, flat
S_NCONF0    equ 0x70        ; code non-conforming DPL0, flat
S_GATE3     equ 0x78        ; call gate DPL3 -> SEL_CODE32:gate_target, 2 params
S_GATE0     equ 0x80        ; call gate DPL0 -> SEL_CODE32:gate_target
S_DATA0     equ 0x88        ; data RW DPL0 flat
S_NPCODE    equ 0x90        ; code not present
S_EXPDOWN   equ 0x98        ; data RW expand-down, base 100000, limit FFF, B=1
S_STK       equ 0xA0        ; data RW base 0 limit 8FFFF (stack segment)
S_CONF3     equ 0xA8        ; code conforming DPL3
S_INTGATE   equ 0xB0        ; an interrupt-gate type descriptor in the GDT
S_LDT       equ 0xB8        ; LDT descriptor: base LDTMEM, 3 entries
S_ACC       equ 0xC0        ; data descriptor with the accessed bit clear
S_GATENP    equ 0xC8        ; call gate DPL3, not present
S_GATENPC   equ 0xD0        ; call gate DPL3 -> not-present code segment
S_GATECONF  equ 0xD8        ; call gate DPL3 -> conforming DPL0 code
S_CODE0ROM  equ 0xE0        ; code32 DPL0, base F0000 (16-bit offsets reach the ROM)
S_GATE16    equ 0xE8        ; 16-bit call gate DPL3 -> S_CODE0ROM:gate16_target, 2 words
R3STK16     equ 0xE000      ; ring-3 stack below 64K for the 16-bit gate test
S_CODE3ROM  equ 0xF0        ; code32 DPL3, base F0000 (ring-3 code with 16-bit offsets)
LDTMEM      equ 0x6000

VEC_INT3GATE equ 0x31       ; DPL3 interrupt gate
VEC_INT0GATE equ 0x32       ; DPL0 interrupt gate

r3v         equ tvar        ; ring-3 result area

test_main:
    SETDESC S_NPDATA,  0, 0xFFFFF, 0x12, 0xC
    SETDESC S_RODATA,  0x100000, 0xFFF, 0x90, 0x4
    SETDESC S_RWSMALL, 0x100000, 0xFFF, 0x92, 0x4
    SETDESC S_XONLY,   0, 0xFFFFF, 0x98, 0xC
    SETDESC S_CONF0,   0, 0xFFFFF, 0x9E, 0xC
    SETDESC S_NCONF0,  0, 0xFFFFF, 0x9A, 0xC
    SETGATE GDT_BASE, S_GATE3/8, SEL_CODE32, gate_target, 0xEC, 2
    SETGATE GDT_BASE, S_GATE0/8, SEL_CODE32, gate_target, 0x8C, 2
    SETDESC S_DATA0,   0, 0xFFFFF, 0x92, 0xC
    SETDESC S_NPCODE,  0, 0xFFFFF, 0x1A, 0xC
    SETDESC S_EXPDOWN, 0x100000, 0xFFF, 0x96, 0x4
    SETDESC S_STK,     0, 0x8FFFF, 0x92, 0x4
    SETDESC S_CONF3,   0, 0xFFFFF, 0xFE, 0xC
    SETGATE GDT_BASE, S_INTGATE/8, SEL_CODE32, gate_target, 0x8E, 0
    SETGATE GDT_BASE, S_GATENP/8, SEL_CODE32, gate_target, 0x6C, 0
    SETGATE GDT_BASE, S_GATENPC/8, S_NPCODE, 0, 0xEC, 0
    SETGATE GDT_BASE, S_GATECONF/8, S_CONF0, conf_rec, 0xEC, 0
    SETDESC S_CODE0ROM, ROM_LINEAR, 0xFFFF, 0x9A, 0x4
    SETGATE GDT_BASE, S_GATE16/8, S_CODE0ROM, gate16_target - ROM_LINEAR, 0xE4, 2
    SETDESC S_CODE3ROM, ROM_LINEAR, 0xFFFF, 0xFA, 0x4
    IDTGATE VEC_INT3GATE, SEL_CODE32, int31_handler, 0xEE
    IDTGATE VEC_INT0GATE, SEL_CODE32, int31_handler, 0x8E
    IDTGATE 0x33, SEL_CODE32, ring3_back1, 0xEE
    IDTGATE 0x34, SEL_CODE32, ring3_back2, 0xEE

    GROUP 0x21, "lar_lsl_tests"
    call lar_lsl_tests              ; before any of the selectors gets loaded
    GROUP 0x22, "ds_tests"
    call ds_tests
    GROUP 0x23, "ss_tests"
    call ss_tests
    GROUP 0x24, "cs_tests"
    call cs_tests
    GROUP 0x25, "limit_tests"
    call limit_tests
    GROUP 0x26, "ldt_tr_tests"
    call ldt_tr_tests
    GROUP 0x27, "ring3_tests"
    call ring3_tests
    ret

; -----------------------------------------------------------------------------
lar_lsl_tests:
    ; LAR: 32-bit result = dword 2 of the descriptor & 00F0FF00 (19:16 undefined)
    mov eax, 0x12345678
    lar eax, [sel_rodata]
    setz bl
    movzx ebx, bl
    CHK "LAR read-only data: ZF", ebx, 1
    and eax, 0x00F0FF00
    CHK "LAR read-only data: rights", eax, 0x00409000
    mov ax, S_XONLY
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR execute-only code: ZF", ebx, 1
    and ecx, 0x00F0FF00
    CHK "LAR execute-only code: rights", ecx, 0x00C09800
    mov ax, SEL_TSS0
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR busy TSS: ZF", ebx, 1
    and ecx, 0x0000FF00
    CHK "LAR busy TSS: rights", ecx, 0x00008B00
    mov ax, S_GATE3
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR call gate: ZF=1", ebx, 1
    and ecx, 0xFF00
    CHK "LAR call gate: rights", ecx, 0xEC00
    mov ecx, 0xAAAAAAAA
    mov ax, S_INTGATE
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR interrupt gate: ZF=0", ebx, 0
    CHK "LAR invalid: destination unchanged", ecx, 0xAAAAAAAA
    xor eax, eax
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR null selector: ZF=0", ebx, 0
    mov ax, 0x800
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR beyond GDT limit: ZF=0", ebx, 0
    mov ax, S_NPDATA
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR not-present data: ZF=1", ebx, 1

    ; LSL
    mov ax, S_RWSMALL
    lsl ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LSL byte-granular: ZF", ebx, 1
    CHK "LSL byte-granular: limit", ecx, 0xFFF
    mov ax, SEL_DATA32
    lsl ecx, ax
    CHK "LSL 4K-granular: limit FFFFFFFF", ecx, 0xFFFFFFFF
    mov ax, SEL_TSS0
    lsl ecx, ax
    CHK "LSL TSS: limit", ecx, 0x67
    mov ecx, 0x5555
    mov ax, S_GATE3
    lsl ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LSL call gate: ZF=0", ebx, 0
    CHK "LSL call gate: destination unchanged", ecx, 0x5555

    ; VERR / VERW
%macro VCHK 3   ; insn, selector, expected ZF
    mov ax, %2
    %1 ax
    setz bl
    movzx ebx, bl
    CHK {%str(%1), " ", %str(%2), ": ZF"}, ebx, %3
%endmacro
    VCHK verr, SEL_CODE32, 1
    VCHK verr, S_XONLY, 0
    VCHK verr, S_RODATA, 1
    VCHK verw, S_RODATA, 0
    VCHK verw, S_RWSMALL, 1
    VCHK verw, SEL_CODE32, 0
    VCHK verr, 0, 0
    VCHK verr, SEL_TSS0, 0
    VCHK verr, 0x800, 0

    ; 16-bit LAR/LSL, LDT descriptor
    mov ax, S_RODATA
    mov ecx, 0xFFFFFFFF
    lar cx, ax
    CHK "LAR r16: low word rights, upper half kept", ecx, 0xFFFF9000
    mov ax, S_RWSMALL
    mov ecx, 0xFFFFFFFF
    lsl cx, ax
    CHK "LSL r16: low word limit, upper half kept", ecx, 0xFFFF0FFF
    SETDESC S_LDT, LDTMEM, 0x17, 0x82, 0
    mov ax, S_LDT
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR LDT descriptor: ZF=1", ebx, 1
    mov ax, S_LDT
    lsl ecx, ax
    CHK "LSL LDT descriptor: limit", ecx, 0x17

    ; ARPL
    mov ax, 0x0008
    mov bx, 0x002B
    arpl ax, bx
    setz cl
    movzx ecx, cl
    movzx eax, ax
    CHK "ARPL raises RPL: result", eax, 0x000B
    CHK "ARPL raises RPL: ZF=1", ecx, 1
    mov ax, 0x002B
    mov bx, 0x0008
    arpl ax, bx
    setz cl
    movzx ecx, cl
    movzx eax, ax
    CHK "ARPL keeps higher RPL: result", eax, 0x002B
    CHK "ARPL keeps higher RPL: ZF=0", ecx, 0
    ret

sel_rodata: dw S_RODATA

; -----------------------------------------------------------------------------
ds_tests:
    EXPECT "ES <- null (load allowed)", -1, 0, {xor eax, eax}, {mov es, ax}, {mov ax, SEL_DATA32}, {mov es, ax}
    EXPECTQ "DS null: access -> #GP(0)", 13, 0, {xor eax, eax}, {mov es, ax}, {mov eax, [es:0x1000]}
    EXPECT "DS <- beyond GDT limit -> #GP(sel)", 13, 0x800, {mov ax, 0x800}, {mov ds, ax}
    EXPECT "DS <- not present -> #NP(sel)", 11, S_NPDATA, {mov ax, S_NPDATA}, {mov ds, ax}
    EXPECT "DS <- execute-only code -> #GP(sel)", 13, S_XONLY, {mov ax, S_XONLY}, {mov ds, ax}
    EXPECT "DS <- readable code ok", -1, 0, {mov ax, SEL_CODE32}, {mov es, ax}, {mov eax, [es:pm_start]}
    EXPECT "DS <- TSS descriptor -> #GP(sel)", 13, SEL_TSS0, {mov ax, SEL_TSS0}, {mov ds, ax}
    EXPECT "DS <- LDT-TI selector, no LDT -> #GP(sel)", 13, 0x4C, {mov ax, 0x4C}, {mov ds, ax}
    EXPECT "DS <- DPL3 data from ring 0 ok", -1, 0, {mov ax, SEL_DATA3}, {mov es, ax}
    ret

ss_tests:
    EXPECT "SS <- null -> #GP(0)", 13, 0, {xor eax, eax}, {mov ss, ax}
    EXPECT "SS <- read-only data -> #GP(sel)", 13, S_RODATA, {mov ax, S_RODATA}, {mov ss, ax}
    EXPECT "SS <- code -> #GP(sel)", 13, SEL_CODE32, {mov ax, SEL_CODE32}, {mov ss, ax}
    EXPECT "SS <- not present -> #SS(sel)", 12, S_NPDATA, {mov ax, S_NPDATA}, {mov ss, ax}
    EXPECT "SS <- RPL3 selector at CPL0 -> #GP(sel)", 13, SEL_DATA3 & 0xFFFC, {mov ax, SEL_DATA3}, {mov ss, ax}
    EXPECT "SS <- DPL3 data RPL0 at CPL0 -> #GP(sel)", 13, SEL_DATA3 & 0xFFFC, {mov ax, SEL_DATA3 & 0xFFFC}, {mov ss, ax}
    ret

cs_tests:
    EXPECT "JMP FAR null -> #GP(0)", 13, 0, {jmp 0:0}
    EXPECT "JMP FAR data segment -> #GP(sel)", 13, SEL_DATA32, {jmp SEL_DATA32:0}
    EXPECT "JMP FAR not-present code -> #NP(sel)", 11, S_NPCODE, {jmp S_NPCODE:0}
    EXPECT "JMP FAR DPL3 non-conforming from CPL0 -> #GP(sel)", 13, SEL_CODE3 & 0xFFFC, {jmp SEL_CODE3:0}
    EXPECT "CALL FAR DPL3 conforming from CPL0 -> #GP(sel)", 13, S_CONF3, {call S_CONF3:0}
    EXPECT "CALL FAR DPL0 conforming from CPL0 ok", -1, 0, {call S_CONF0:conf_func}
    EXPECT "CALL FAR beyond GDT limit -> #GP(sel)", 13, 0x800, {call 0x800:0}
    ; execute-only code: fetch fine, data read through CS faults
    EXPECT "execute-only code: execute ok", -1, 0, {call S_XONLY:xonly_nop}
    EXPECTQ "execute-only code: read via CS -> #GP(0)", 13, 0, {call S_XONLY:xonly_read}
    EXPECTQ "write via CS override -> #GP(0)", 13, 0, {mov [cs:tvar], eax}
    ret

xonly_nop:
    retf
xonly_read:
    mov eax, [cs:xonly_nop]
    retf
conf_func:
    retf

limit_tests:
    EXPECT "limit: dword at FFC ok", -1, 0, {mov ax, S_RWSMALL}, {mov es, ax}, {mov eax, [es:0xFFC]}
    EXPECTQ "limit: dword at FFE -> #GP(0)", 13, 0, {mov ax, S_RWSMALL}, {mov es, ax}, {mov eax, [es:0xFFE]}
    EXPECTQ "limit: byte at 1000 -> #GP(0)", 13, 0, {mov ax, S_RWSMALL}, {mov es, ax}, {mov byte [es:0x1000], 1}
    EXPECT "read-only data: read ok", -1, 0, {mov ax, S_RODATA}, {mov es, ax}, {mov eax, [es:0]}
    EXPECTQ "read-only data: write -> #GP(0)", 13, 0, {mov ax, S_RODATA}, {mov es, ax}, {mov dword [es:0], 1}
    EXPECT "expand-down: offset 1000 ok", -1, 0, {mov ax, S_EXPDOWN}, {mov es, ax}, {mov eax, [es:0x1000]}
    EXPECTQ "expand-down: offset 800 -> #GP(0)", 13, 0, {mov ax, S_EXPDOWN}, {mov es, ax}, {mov eax, [es:0x800]}
    ; stack segment with limit 8FFFF
    EXPECT "SS limit: [SS:8FFFC] ok", -1, 0, {mov ax, S_STK}, {mov ss, ax}, {mov eax, [ss:0x8FFFC]}
    EXPECTQ "SS limit: [SS:90000] -> #SS(0)", 12, 0, {mov ax, S_STK}, {mov ss, ax}, {mov eax, [ss:0x90000]}
    EXPECTQ "SS limit: [EBP+x] beyond -> #SS(0)", 12, 0, {mov ax, S_STK}, {mov ss, ax}, {mov ebp, 0x8FFFE}, {mov eax, [ebp]}
    ; writes through DS data segment with RPL/DPL checks from ring 0 are fine
    ret

; -----------------------------------------------------------------------------
; ring 3
; -----------------------------------------------------------------------------
ring3_tests:
    ; --- entry via IRET (call_ring3), DS/ES DPL0 get nulled ---
    mov dword [r3v+0], -1
    mov eax, r3_basic
    call call_ring3
    CHK "IRET to ring 3: CS", [r3v+0], SEL_CODE3
    CHK "IRET to ring 3: SS", [r3v+4], SEL_DATA3
    CHK "IRET to ring 3: ESP", [r3v+8], STACK3

    ; IRET to ring 3 with DS=DPL0 data -> DS nulled, FS (DPL3) kept
    mov [r3_save_esp], esp
    pushfd
    pushad
    mov [r3_save_esp], esp
    mov ax, SEL_DATA32
    mov ds, ax
    mov ax, SEL_DATA3
    mov fs, ax
    push dword SEL_DATA3
    push dword STACK3
    push dword 0x3002
    push dword SEL_CODE3
    push dword r3_segs
    iret
.back1:
    CHK "IRET to ring 3: DS (DPL0) nulled", [r3v+0x10], 0
    CHK "IRET to ring 3: FS (DPL3) kept", [r3v+0x14], SEL_DATA3

    ; --- entry via RETF ---
    pushfd
    pushad
    mov [r3_save_esp], esp
    mov ax, SEL_DATA3
    mov ds, ax
    mov es, ax
    push dword SEL_DATA3
    push dword STACK3 - 0x100
    push dword SEL_CODE3
    push dword r3_retf
    retf
.back2:
    CHK "RETF to ring 3: CS", [r3v+0x18], SEL_CODE3
    CHK "RETF to ring 3: ESP", [r3v+0x1C], STACK3 - 0x100

    ; --- call gate with parameter copying and stack switch ---
    mov eax, r3_callgate
    call call_ring3
    CHK "call gate: ring-0 CS", [r3v+0x20], SEL_CODE32
    CHK "call gate: ring-0 SS from TSS", [r3v+0x24], SEL_DATA32
    CHK "call gate: ring-0 ESP = ESP0-24", [r3v+0x28], STACK0R3 - 24
    CHK "call gate: pushed EIP", [r3v+0x2C], r3_callgate.ret
    CHK "call gate: pushed CS", [r3v+0x30], SEL_CODE3
    CHK "call gate: param 2 copied", [r3v+0x34], 0x22222222
    CHK "call gate: param 1 copied", [r3v+0x38], 0x11111111
    CHK "call gate: pushed ESP3", [r3v+0x3C], STACK3 - 8
    CHK "call gate: pushed SS3", [r3v+0x40], SEL_DATA3
    CHK "call gate: back in ring 3 CS", [r3v+0x44], SEL_CODE3
    CHK "call gate: RETF 8 ESP3 restored", [r3v+0x48], STACK3

    ; --- far call to conforming code from ring 3: CPL stays 3 ---
    mov eax, r3_conf
    call call_ring3
    CHK "conforming DPL0 code from ring 3: CS", [r3v+0x4C], S_CONF0 | 3

    ; --- call gate to conforming code: no privilege change ---
    mov dword [r3v+0x4C], 0
    mov eax, r3_gateconf
    call call_ring3
    ; QEMU 7.2 TCG loads CS with RPL 0 here (CPL 0); SDM: same privilege
    CHKQ "call gate to conforming DPL0 code: CPL stays 3", [r3v+0x4C], S_CONF0 | 3

    ; --- 16-bit call gate: word parameters, 16-bit frame ---
    mov eax, r3_gate16
    call call_ring3
    CHK "16-bit call gate: ring-0 CS", [r3v+0x64], S_CODE0ROM
    CHK "16-bit call gate: ring-0 ESP = ESP0-12", [r3v+0x68], STACK0R3 - 12
    CHK "16-bit call gate: pushed IP", [r3v+0x6C], (r3_gate16.ret - $$ + PM32_FILE)
    CHK "16-bit call gate: pushed CS", [r3v+0x70], S_CODE3ROM | 3
    CHK "16-bit call gate: word params copied", [r3v+0x74], 0x11112222
    CHK "16-bit call gate: pushed SP", [r3v+0x78], R3STK16 - 4
    CHK "16-bit call gate: pushed SS", [r3v+0x7C], SEL_DATA3
    CHK "16-bit call gate: O16 RETF 4 back to ring 3, ESP", [r3v+0x40], R3STK16

    ; --- INT through DPL3 gate ---
    mov eax, r3_int31
    call call_ring3
    CHK "INT via DPL3 gate: handler CS", [r3v+0x50], SEL_CODE32
    CHK "INT via DPL3 gate: handler ESP = ESP0-20", [r3v+0x54], STACK0R3 - 20
    CHK "INT via DPL3 gate: pushed CS", [r3v+0x58], SEL_CODE3
    CHK "INT via DPL3 gate: pushed SS", [r3v+0x5C], SEL_DATA3
    CHK "INT via DPL3 gate: IRET back to ring 3", [r3v+0x60], SEL_CODE3

    ; --- faults raised in ring 3 ---
    ; without UMIP (not on P6) the store-table instructions work at CPL3
    R3EXPECT "ring 3 SGDT/SIDT/SLDT/STR/SMSW allowed", -1, 0, r3_stores
    mov eax, r3_verr_conf
    call call_ring3
    CHK "ring 3 VERR conforming DPL0 code: ZF=1", [r3v+0x08], 1
    CHK "ring 3 VERR DPL0 data: ZF=0", [r3v+0x0C], 0
    CHK "ring 3 LAR DPL0 data: ZF=0", [r3v+0x10], 0
    CHK "ring 3 LAR conforming DPL0 code: ZF=1", [r3v+0x14], 1
    ; IOPL sensitivity in protected mode at CPL3
    mov dword [r3_eflags], 0x0002       ; IOPL=0
    mov eax, r3_popf_iopl
    call call_ring3
    R3EXPECT "CPL3 IOPL=0: CLI -> #GP(0)", 13, 0, r3_cli
    R3EXPECT "CPL3 IOPL=0: IN without I/O bitmap -> #GP(0)", 13, 0, r3_in
    mov dword [r3_eflags], 0x1002       ; IOPL=1
    R3EXPECT "CPL3 IOPL=1: STI -> #GP(0)", 13, 0, r3_sti
    mov dword [r3_eflags], 0
    mov eax, [r3v+0x18]
    and eax, 0x3200
    CHK "CPL3 IOPL=0: POPFD cannot set IF or IOPL (no fault)", eax, 0
    mov eax, r3_popf_iopl3
    call call_ring3
    mov eax, [r3v+0x1C]
    and eax, 0x3000
    CHK "CPL3 IOPL=3: POPFD cannot change IOPL", eax, 0x3000
    R3EXPECT "ring 3 INT via DPL0 gate -> #GP(vec*8+2)", 13, VEC_INT0GATE*8+2, r3_int32
    R3EXPECT "ring 3 call gate DPL0 -> #GP(sel)", 13, S_GATE0, r3_gate0
    R3EXPECT "ring 3 CALL FAR DPL0 non-conforming -> #GP(sel)", 13, S_NCONF0, r3_nconf
    R3EXPECT "ring 3 DS <- DPL0 data -> #GP(sel)", 13, S_DATA0, r3_lds0
    R3EXPECT "ring 3 RETF to ring 0 -> #GP(sel)", 13, SEL_CODE32, r3_retf0
    R3EXPECT "ring 3 CALL not-present call gate -> #NP(gate)", 11, S_GATENP, r3_gatenp
    R3EXPECT "ring 3 CALL gate to not-present code -> #NP(code)", 11, S_NPCODE, r3_gatenpc
    R3EXPECT "ring 3 JMP via call gate to DPL0 code -> #GP(code)", 13, SEL_CODE32, r3_jmpgate
    R3EXPECT "ring 3 HLT -> #GP(0)", 13, 0, r3_hlt
    R3EXPECT "ring 3 MOV CR0 -> #GP(0)", 13, 0, r3_movcr
    R3EXPECT "ring 3 LGDT -> #GP(0)", 13, 0, r3_lgdt
    ; IRET to ring 3 with a bad stack selector
    EXPECT "IRET to ring 3 with SS DPL0 -> #GP(SS)", 13, SEL_DATA32, {push dword SEL_DATA32}, {push dword STACK3}, {push dword 0x3002}, {push dword SEL_CODE3}, {push dword 0}, {iret}
    EXPECT "IRET to ring 3 with SS.RPL 0 -> #GP(SS)", 13, SEL_DATA3 & 0xFFFC, {push dword SEL_DATA3 & 0xFFFC}, {push dword STACK3}, {push dword 0x3002}, {push dword SEL_CODE3}, {push dword 0}, {iret}
    EXPECT "IRET with CS = data segment -> #GP(CS)", 13, SEL_DATA3 & 0xFFFC, {push dword SEL_DATA3}, {push dword STACK3}, {push dword 0x3002}, {push dword SEL_DATA3}, {push dword 0}, {iret}
    EXPECT "RETF to ring 3 with SS DPL0 -> #GP(SS)", 13, SEL_DATA32, {push dword SEL_DATA32}, {push dword STACK3}, {push dword SEL_CODE3}, {push dword 0}, {retf}
    TRY .r3rec
    mov eax, r3_fault_frame
    call call_ring3
.r3rec:
    ENDTRY
    CHK "ring 3 #GP: pushed CS", [exc_cs], SEL_CODE3
    CHK "ring 3 #GP: pushed EIP", [exc_eip], r3_fault_frame.insn
    CHK "ring 3 #GP: pushed ESP3", [exc_esp3], STACK3 - 4
    CHK "ring 3 #GP: pushed SS3", [exc_ss3], SEL_DATA3
    ret

%macro R0RESTORE 0
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, [r3_save_esp]
    popad
    popfd
%endmacro
ring3_back1:
    R0RESTORE
    jmp ring3_tests.back1
ring3_back2:
    R0RESTORE
    jmp ring3_tests.back2

; --- ring-3 code ---
r3_basic:
    mov ax, cs
    movzx eax, ax
    mov [r3v+0], eax
    mov ax, ss
    movzx eax, ax
    mov [r3v+4], eax
    mov [r3v+8], esp
    int VEC_RING0

r3_segs:
    mov ax, ds
    mov bx, fs
    mov cx, SEL_DATA3
    mov ds, cx
    movzx eax, ax
    mov [r3v+0x10], eax
    movzx ebx, bx
    mov [r3v+0x14], ebx
    int 0x33                        ; DPL3 gate -> ring3_back1

r3_retf:
    mov ax, cs
    movzx eax, ax
    mov [r3v+0x18], eax
    mov [r3v+0x1C], esp
    int 0x34                        ; DPL3 gate -> ring3_back2

r3_callgate:
    push dword 0x11111111
    push dword 0x22222222
    call S_GATE3|3:0
.ret:
    mov ax, cs
    movzx eax, ax
    mov [r3v+0x44], eax
    mov [r3v+0x48], esp
    int VEC_RING0

gate_target:                        ; ring 0 via call gate (DS still DPL3 flat)
    mov ax, cs
    movzx eax, ax
    mov [r3v+0x20], eax
    mov ax, ss
    movzx eax, ax
    mov [r3v+0x24], eax
    mov [r3v+0x28], esp
    mov eax, [esp]
    mov [r3v+0x2C], eax
    mov eax, [esp+4]
    mov [r3v+0x30], eax
    mov eax, [esp+8]
    mov [r3v+0x34], eax
    mov eax, [esp+12]
    mov [r3v+0x38], eax
    mov eax, [esp+16]
    mov [r3v+0x3C], eax
    mov eax, [esp+20]
    mov [r3v+0x40], eax
    retf 8

r3_conf:
    call S_CONF0:conf_rec
    int VEC_RING0
conf_rec:
    mov ax, cs
    movzx eax, ax
    mov [r3v+0x4C], eax
    retf

r3_int31:
    int VEC_INT3GATE
    mov ax, cs
    movzx eax, ax
    mov [r3v+0x60], eax
    int VEC_RING0

int31_handler:
    push ds
    push eax
    mov ax, SEL_DATA32
    mov ds, ax
    mov ax, cs
    movzx eax, ax
    mov [r3v+0x50], eax
    lea eax, [esp+8]
    mov [r3v+0x54], eax
    mov eax, [esp+12]
    mov [r3v+0x58], eax
    mov eax, [esp+24]
    mov [r3v+0x5C], eax
    pop eax
    pop ds
    iret

r3_int32:
    int VEC_INT0GATE
    int VEC_RING0
r3_gate0:
    call S_GATE0|3:0
    int VEC_RING0
r3_nconf:
    call S_NCONF0:0
    int VEC_RING0
r3_lds0:
    mov ax, S_DATA0
    mov ds, ax
    int VEC_RING0
r3_retf0:
    push dword SEL_CODE32
    push dword r3_retf0
    retf
r3_gateconf:
    call S_GATECONF|3:0
    int VEC_RING0

r3_gate16:
    jmp S_CODE3ROM|3:.low - ROM_LINEAR  ; so that the return IP fits in 16 bits
.low:
    mov esp, R3STK16
    push word 0x1111
    push word 0x2222
    call S_GATE16|3:0
.ret:
    mov [r3v+0x40], esp
    int VEC_RING0

gate16_target:                  ; CS = S_CODE0ROM (base F0000), 32-bit code
    mov ax, cs
    movzx eax, ax
    mov [r3v+0x64], eax
    mov [r3v+0x68], esp
    movzx eax, word [esp]
    mov [r3v+0x6C], eax
    movzx eax, word [esp+2]
    mov [r3v+0x70], eax
    mov eax, [esp+4]            ; p2 (low word) and p1 (high word)
    mov [r3v+0x74], eax
    movzx eax, word [esp+8]
    mov [r3v+0x78], eax
    movzx eax, word [esp+10]
    mov [r3v+0x7C], eax
    o16 retf 4

r3_popf_iopl:
    push dword 0x3202               ; try IF=1, IOPL=3
    popfd
    pushfd
    pop dword [r3v+0x18]
    int VEC_RING0
r3_popf_iopl3:
    push dword 0x0002               ; try IOPL=0
    popfd
    pushfd
    pop dword [r3v+0x1C]
    int VEC_RING0
r3_cli:
    cli
    int VEC_RING0
r3_sti:
    sti
    int VEC_RING0
r3_in:
    in al, 0x80
    int VEC_RING0

r3_stores:
    sgdt [r3v+0x00]
    sidt [r3v+0x08]
    sldt ax
    str ax
    smsw ax
    int VEC_RING0

r3_verr_conf:
%macro ZF2MEM 1
    setz bl
    movzx ebx, bl
    mov [%1], ebx
%endmacro
    mov ax, S_CONF0
    verr ax
    ZF2MEM r3v+0x08
    mov ax, S_DATA0
    verr ax
    ZF2MEM r3v+0x0C
    mov ax, S_DATA0
    lar ecx, ax
    ZF2MEM r3v+0x10
    mov ax, S_CONF0
    lar ecx, ax
    ZF2MEM r3v+0x14
    int VEC_RING0

r3_gatenp:
    call S_GATENP|3:0
    int VEC_RING0
r3_gatenpc:
    call S_GATENPC|3:0
    int VEC_RING0
r3_jmpgate:
    jmp S_GATE3|3:0
    int VEC_RING0
r3_hlt:
    hlt
    int VEC_RING0
r3_movcr:
    mov eax, cr0
    mov cr0, eax
    int VEC_RING0
r3_lgdt:
    lgdt [idtr_template]
    int VEC_RING0
r3_fault_frame:
    push eax
.insn:
    hlt
    int VEC_RING0

; -----------------------------------------------------------------------------
ldt_tr_tests:
    SETDESC S_LDT, LDTMEM, 0x17, 0x82, 0
    SETDESC S_ACC, 0, 0xFFFFF, 0x92, 0xC
    mov dword [LDTMEM+0], 0
    mov dword [LDTMEM+4], 0
    mov dword [LDTMEM+8], 0x0000FFFF            ; 0Ch: data RW flat, A=0
    mov dword [LDTMEM+12], 0x00CF9200
    mov dword [LDTMEM+16], 0x0000FFFF           ; 14h: execute-only code
    mov dword [LDTMEM+20], 0x00CF9800
    ; accessed bit is set in the descriptor when a segment register is loaded
    mov ax, S_ACC
    mov es, ax
    movzx eax, byte [GDT_BASE+S_ACC+5]
    CHK "segment load sets the accessed bit (GDT)", eax, 0x93
    mov ax, SEL_DATA32
    mov es, ax
    EXPECT "LLDT LDT descriptor", -1, 0, {mov ax, S_LDT}, {lldt ax}
    xor eax, eax
    sldt ax
    CHK "SLDT after LLDT", eax, S_LDT
    EXPECT "ES <- LDT selector 0Ch", -1, 0, {mov ax, 0x0C}, {mov es, ax}, {mov eax, [es:tvar]}, {mov ax, SEL_DATA32}, {mov es, ax}
    movzx eax, byte [LDTMEM+13]
    CHK "segment load sets the accessed bit (LDT)", eax, 0x93
    mov ax, 0x0C
    lar ecx, ax
    setz bl
    movzx ebx, bl
    CHK "LAR LDT selector: ZF=1", ebx, 1
    EXPECT "ES <- beyond LDT limit -> #GP(sel)", 13, 0x1C, {mov ax, 0x1C}, {mov es, ax}
    EXPECT "ES <- LDT execute-only code -> #GP(sel)", 13, 0x14, {mov ax, 0x14}, {mov es, ax}
    EXPECT "LLDT with TSS selector -> #GP(sel)", 13, SEL_TSS0, {mov ax, SEL_TSS0}, {lldt ax}
    EXPECT "LLDT with data selector -> #GP(sel)", 13, SEL_DATA32, {mov ax, SEL_DATA32}, {lldt ax}
    EXPECT "LLDT null", -1, 0, {xor eax, eax}, {lldt ax}
    EXPECT "ES <- LDT selector with null LDTR -> #GP(sel)", 13, 0x0C, {mov ax, 0x0C}, {mov es, ax}
    EXPECT "LTR with data selector -> #GP(sel)", 13, SEL_DATA32, {mov ax, SEL_DATA32}, {ltr ax}
    EXPECT "LTR with busy TSS -> #GP(sel)", 13, SEL_TSS0, {mov ax, SEL_TSS0}, {ltr ax}
    R3EXPECT "LLDT at CPL3 -> #GP(0)", 13, 0, r3_lldt
    R3EXPECT "LTR at CPL3 -> #GP(0)", 13, 0, r3_ltr
    ret
r3_lldt:
    xor eax, eax
    lldt ax
    int VEC_RING0
r3_ltr:
    mov ax, SEL_TSS0
    ltr ax
    int VEC_RING0
