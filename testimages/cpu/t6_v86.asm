; t6_v86: virtual-8086 mode.
;  - entry via IRET with EFLAGS.VM=1 (ring-0 monitor), real-mode addressing
;  - INT n with IOPL=3 through a DPL3 gate (frame with segment registers,
;    data segments zeroed in the handler, IRET back to v86), DPL0 gate -> #GP
;  - IOPL<3: INT n, CLI, STI, PUSHF, POPF, IRET -> #GP(0) to the monitor
;  - IOPL=3: CLI/PUSHF/POPF execute, POPF cannot change IOPL
;  - IN/OUT use the TSS I/O permission bitmap, not IOPL
;  - return to the monitor via INT to a DPL3 gate
;  - VME (only if CPUID.1:EDX.VME): CLI/STI/PUSHF on VIF, INT redirection
%define TESTNAME "t6_v86"
%include "lib.inc"

V86_SP      equ 0x7000
tv          equ tvar            ; v86 code stores results here (DS=0)
v86_es      equ tvar+0x70       ; initial ES/FS/GS for enter_v86 (default 0)
v86_fs      equ tvar+0x74
v86_gs      equ tvar+0x78

EFL_VM      equ 0x20000
EFL_IOPL3   equ 0x3000
EFL_VIF     equ 0x80000

; -----------------------------------------------------------------------------
section rm16
bits 16

; (v86 code runs from the ROM at F000:xxxx with SS=DS=0)
v86_basic:
    mov ax, cs
    mov [tv+0x00], ax
    mov ax, 0x1000
    mov ds, ax
    mov dword [0x0010], 0x5A5A1234      ; linear 10010
    xor ax, ax
    mov ds, ax
    pushfd
    pop eax
    mov [tv+0x04], eax                  ; VM must read as 0 in the image
    smsw ax
    mov [tv+0x08], ax
    mov ax, 0x1234
    mov es, ax
    int 0x31                            ; DPL3 gate, handler IRETs back
    mov word [tv+0x0C], 1               ; came back
    mov ax, es
    mov [tv+0x0E], ax
    int VEC_RING0

v86_int_dpl0:
    int 0x32
    int VEC_RING0

v86_int_iopl0:
.i: int 0x31
    int VEC_RING0
v86_cli:
.i: cli
    int VEC_RING0
v86_sti:
.i: sti
    int VEC_RING0
v86_pushf:
.i: pushf
    int VEC_RING0
v86_popf:
    push word 0
.i: popf
    int VEC_RING0
v86_iret:
    push word 0x0002
    push cs
    push word .n
.i: iret
.n: int VEC_RING0

v86_hlt:
.i: hlt
    int VEC_RING0
v86_clts:
.i: clts
    int VEC_RING0
v86_movcr:
.i: mov eax, cr0
    int VEC_RING0
v86_lmsw:
    smsw ax
.i: lmsw ax
    int VEC_RING0

v86_iopl3_flags:
    cli                                 ; allowed with IOPL=3
    pushfd
    pop eax
    mov [tv+0x10], eax
    push dword 0x00000002               ; try to clear IOPL (and IF)
    popfd
    pushfd
    pop eax
    mov [tv+0x14], eax
    int VEC_RING0

v86_in:
.i: in al, 0x81
    int VEC_RING0
v86_out_ok:
    mov al, 0x66
    out 0x80, al                        ; permitted by the bitmap
    mov word [tv+0x18], 1
.i: out 0x81, al                        ; not permitted
    int VEC_RING0

; VME tests (IOPL=0, VME=1)
v86_vme:
    cli                                 ; clears VIF, no fault
    pushf
    pop ax
    mov [tv+0x20], ax                   ; IF = VIF = 0, IOPL reads 3
    sti
    pushf
    pop ax
    mov [tv+0x22], ax                   ; IF = VIF = 1
    int 0x41                            ; redirected through the IVT at 0
    mov [tv+0x24], bx
    cli
    int VEC_RING0                       ; bitmap bit set: to the monitor (#GP)
v86_ivt41:
    mov bx, 0x4141
    iret

; -----------------------------------------------------------------------------
section pm32
bits 32

; enter_v86: eax = IP (CS = F000), ecx = EFLAGS (VM added). Returns when the
; v86 code executes INT VEC_RING0 through the DPL3 gate (IOPL=3); with
; IOPL<3 that INT faults, so callers use TRY for those.
enter_v86:
    pushfd
    pushad
    mov [r3_save_esp], esp
    push dword [v86_gs]         ; GS
    push dword [v86_fs]         ; FS
    push dword 0                ; DS
    push dword [v86_es]         ; ES
    push dword 0                ; SS
    push dword V86_SP           ; ESP
    or ecx, EFL_VM | 2
    push ecx                    ; EFLAGS
    push dword 0xF000           ; CS
    push eax                    ; EIP
    iret

; INT 31 handler (DPL3 gate) reached from v86
int31_v86:
    mov ax, ds
    movzx eax, ax
    mov ebx, SEL_DATA32
    mov ds, bx
    mov [tv+0x40], eax          ; DS on entry (zeroed)
    mov ax, es
    movzx eax, ax
    mov [tv+0x44], eax
    mov eax, [esp+4]
    mov [tv+0x48], eax          ; pushed CS
    mov eax, [esp+8]
    mov [tv+0x4C], eax          ; pushed EFLAGS
    mov eax, [esp+16]
    mov [tv+0x50], eax          ; pushed SS
    mov eax, [esp+20]
    mov [tv+0x54], eax          ; pushed ES
    mov [tv+0x58], esp
    mov ax, cs
    movzx eax, ax
    mov [tv+0x5C], eax
    mov dword [esp+20], 0x4321  ; ES for the v86 code after IRET
    iret

%macro V86EXPECT 5  ; name, entry, eflags, vector, error
    TRY %%rec
    mov eax, %2
    mov ecx, %3
    call enter_v86
%%rec:
    ENDTRY
    CHK {%1, ": vector"}, [exc_vec], %4
%if %4 != -1
    CHK {%1, ": error code"}, [exc_err], %5
%endif
%endmacro

%macro V86FAULT 3   ; name, entry (with .i label), eflags : #GP(0) at entry.i
    V86EXPECT %1, %2, %3, 13, 0
    CHK {%1, ": fault CS:IP"}, [exc_eip], %2.i
    CHK {%1, ": pushed EFLAGS.VM"}, [tvar+0x7C], EFL_VM
%endmacro

test_main:
    mov dword [exc_hook], save_vm_hook
    IDTGATE 0x31, SEL_CODE32, int31_v86, 0xEE
    IDTGATE 0x32, SEL_CODE32, int31_v86, 0x8E

    GROUP 0x61, "v86 basics, INT n IOPL=3"
    ; ---- basic v86 with IOPL=3 ----
    mov eax, v86_basic
    mov ecx, EFL_IOPL3
    call enter_v86
    movzx eax, word [tv+0x00]
    CHK "v86: CS = F000", eax, 0xF000
    CHK "v86: 1000:0010 -> linear 10010", [0x10010], 0x5A5A1234
    mov eax, [tv+0x04]
    and eax, EFL_VM
    CHK "v86: PUSHFD image has VM=0", eax, 0
    movzx eax, word [tv+0x08]
    and eax, 1
    CHK "v86: SMSW shows PE=1", eax, 1
    CHK "v86 INT 31: handler DS zeroed", [tv+0x40], 0
    CHK "v86 INT 31: handler ES zeroed", [tv+0x44], 0
    CHK "v86 INT 31: pushed CS", [tv+0x48], 0xF000
    mov eax, [tv+0x4C]
    and eax, EFL_VM
    CHK "v86 INT 31: pushed EFLAGS.VM=1", eax, EFL_VM
    CHK "v86 INT 31: pushed SS", [tv+0x50], 0
    CHK "v86 INT 31: pushed ES", [tv+0x54], 0x1234
    CHK "v86 INT 31: ring-0 stack from TSS (ESP0-36)", [tv+0x58], STACK0R3 - 36
    CHK "v86 INT 31: handler CS", [tv+0x5C], SEL_CODE32
    movzx eax, word [tv+0x0C]
    CHK "v86 INT 31: IRET back to v86", eax, 1
    movzx eax, word [tv+0x0E]
    CHK "v86 INT 31: IRET reloads ES from frame", eax, 0x4321

    V86EXPECT "v86 IOPL=3 INT via DPL0 gate -> #GP", v86_int_dpl0, EFL_IOPL3, 13, 0x32*8+2

    GROUP 0x62, "IOPL-sensitive instructions"
    ; ---- IOPL-sensitive instructions with IOPL=0 ----
    V86FAULT "v86 IOPL=0 INT n -> #GP(0)", v86_int_iopl0, 0
    V86FAULT "v86 IOPL=0 CLI -> #GP(0)", v86_cli, 0
    V86FAULT "v86 IOPL=0 STI -> #GP(0)", v86_sti, 0
    V86FAULT "v86 IOPL=0 PUSHF -> #GP(0)", v86_pushf, 0
    V86FAULT "v86 IOPL=0 POPF -> #GP(0)", v86_popf, 0
    V86FAULT "v86 IOPL=0 IRET -> #GP(0)", v86_iret, 0
    V86FAULT "v86 IOPL=2 CLI -> #GP(0)", v86_cli, 0x2000
    V86FAULT "v86 IOPL=3 HLT -> #GP(0)", v86_hlt, EFL_IOPL3
    V86FAULT "v86 IOPL=3 CLTS -> #GP(0)", v86_clts, EFL_IOPL3
    V86FAULT "v86 IOPL=3 MOV CR0 -> #GP(0)", v86_movcr, EFL_IOPL3
    V86FAULT "v86 IOPL=3 LMSW -> #GP(0)", v86_lmsw, EFL_IOPL3

    CHK "v86 #GP: pushed CS", [exc_cs], 0xF000
    ; full v86 exception frame: EIP CS EFLAGS ESP SS ES DS FS GS
    mov dword [v86_es], 0x1111
    mov dword [v86_fs], 0x2222
    mov dword [v86_gs], 0x3333
    V86FAULT "v86 frame test: CLI IOPL=0", v86_cli, 0
    mov dword [v86_es], 0
    mov dword [v86_fs], 0
    mov dword [v86_gs], 0
    mov ebx, [exc_frame]
    CHK "v86 #GP frame: ESP", [ebx+12], V86_SP
    CHK "v86 #GP frame: SS", [ebx+16], 0
    CHK "v86 #GP frame: ES", [ebx+20], 0x1111
    CHK "v86 #GP frame: DS", [ebx+24], 0
    CHK "v86 #GP frame: FS", [ebx+28], 0x2222
    CHK "v86 #GP frame: GS", [ebx+32], 0x3333
    CHK "v86 #GP frame: on the TSS ring-0 stack, EIP slot at ESP0-36", ebx, STACK0R3 - 36

    ; ---- IOPL=3 flag instructions ----
    mov eax, v86_iopl3_flags
    mov ecx, EFL_IOPL3
    call enter_v86
    mov eax, [tv+0x10]
    and eax, 0x3200
    CHK "v86 IOPL=3: CLI ok, IF=0 IOPL=3", eax, 0x3000
    mov eax, [tv+0x14]
    and eax, 0x3000
    CHK "v86 IOPL=3: POPFD cannot change IOPL", eax, 0x3000

    GROUP 0x63, "I/O permission bitmap"
    ; ---- I/O permission bitmap ----
    V86FAULT "v86 IOPL=3 IN without I/O bitmap -> #GP(0)", v86_in, EFL_IOPL3
    ; give TSS0 an I/O bitmap: all ports denied except 80h
    mov edi, TSS0+0x68
    mov ecx, 8192/4 + 1
    mov eax, 0xFFFFFFFF
    rep stosd
    and byte [TSS0+0x68+0x80/8], ~1
    mov word [GDT_BASE+SEL_TSS0], 0x68+8192
    and byte [GDT_BASE+SEL_TSS0+5], ~2
    mov ax, SEL_TSS0
    ltr ax
    mov dword [tv+0x18], 0
    V86FAULT "v86 OUT to denied port -> #GP(0)", v86_out_ok, EFL_IOPL3
    CHK "v86 OUT to permitted port 80h ok", [tv+0x18], 1
    V86FAULT "v86 IOPL=0 IN denied port -> #GP(0)", v86_in, 0

    GROUP 0x64, "VME"
    ; ---- VME ----
    mov eax, 1
    cpuid
    test edx, 2
    jnz .vme
    SKIPMSG "VME tests: CPUID.1:EDX.VME not set"
    jmp .novme
.vme:
    ; NOTE: QEMU 7.2 TCG never reports VME, so this part is not validated on
    ; QEMU; it follows the SDM (20.3 / 20.4, PUSHF/POPF/CLI/STI/INT n).
    ; Interrupt redirection bitmap: the 32 bytes just below the I/O map base;
    ; move the I/O map base to 88h so the redirection bitmap is at 68h-87h.
    mov word [TSS0+0x66], 0x88
    mov edi, TSS0+0x68
    mov ecx, (32 + 8192)/4 + 1
    mov eax, 0xFFFFFFFF
    rep stosd
    and byte [TSS0+0x88+0x80/8], ~1
    and byte [TSS0+0x68+0x41/8], ~(1 << (0x41 & 7))   ; redirect INT 41h
    mov word [GDT_BASE+SEL_TSS0], 0x88+8192
    and byte [GDT_BASE+SEL_TSS0+5], ~2
    mov ax, SEL_TSS0
    ltr ax
    mov word [0x41*4], v86_ivt41
    mov word [0x41*4+2], 0xF000
    mov eax, cr4
    or eax, 1                   ; VME
    mov cr4, eax
    V86EXPECT "VME: run until final INT (not redirected) -> #GP(0)", v86_vme, EFL_VIF, 13, 0
    mov eax, cr4
    and eax, ~1
    mov cr4, eax
    movzx eax, word [tv+0x20]
    and eax, 0x3200
    CHK "VME: CLI -> PUSHF shows IF=VIF=0, IOPL=3", eax, 0x3000
    movzx eax, word [tv+0x22]
    and eax, 0x0200
    CHK "VME: STI -> PUSHF shows IF=VIF=1", eax, 0x0200
    movzx eax, word [tv+0x24]
    CHK "VME: INT 41 redirected through v86 IVT", eax, 0x4141
    mov eax, [exc_eflags]
    and eax, EFL_VIF
    CHK "VME: CLI cleared VIF in EFLAGS", eax, 0
.novme:
    mov dword [exc_hook], 0
    ret

save_vm_hook:
    mov eax, [exc_eflags]
    and eax, EFL_VM
    mov [tvar+0x7C], eax
    ret
