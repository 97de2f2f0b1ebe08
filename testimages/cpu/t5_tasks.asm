; t5_tasks: hardware task switching (32-bit TSS).
;  - JMP to a TSS: state saved into the old TSS, loaded from the new one,
;    busy bits moved, no back link / NT, CR0.TS set, LDTR loaded from TSS
;  - CALL through a task gate: NT=1, back link, both tasks busy; IRET with
;    NT returns and clears the busy bit; a second CALL resumes after the IRET
;  - INT n through an IDT task gate; exception (#GP) through a task gate with
;    the error code pushed on the new task's stack
;  - JMP/CALL to a busy TSS -> #GP(sel)
%define TESTNAME "t5_tasks"
%include "lib.inc"

TSSA    equ 0x5000
TSSB    equ 0x5100
TSSC    equ 0x5200
TSSD    equ 0x5300
LDTA    equ 0x5400
S_TSSA  equ 0x48
S_TSSB  equ 0x50
S_TGB   equ 0x58        ; task gate -> S_TSSB
S_TSSC  equ 0x60
S_LDTA  equ 0x68
S_TSSD  equ 0x70
S_TSSE  equ 0x78
S_TSSF  equ 0x80
TSSF    equ 0x5600
S_TSSH  equ 0x88
TSSH    equ 0x5700
S_TSSG  equ 0x90
TSSG    equ 0x5800
S_TSSJ  equ 0x98
TSSJ    equ 0x5900
TSSE    equ 0x5500
REGS0   equ 0x6000          ; registers of task 0 after returning
REGSE   equ 0x6100          ; what task E saw

tv      equ tvar

; init_tss: edi = TSS base, eax = EIP, ebx = ESP
init_tss:
    push eax
    push ecx
    push edi
    mov ecx, 0x68/4
    xor eax, eax
    rep stosd
    pop edi
    pop ecx
    pop eax
    mov [edi+0x20], eax
    mov [edi+0x38], ebx
    mov dword [edi+0x24], 2
    mov dword [edi+0x4C], SEL_CODE32
    mov dword [edi+0x48], SEL_DATA32
    mov dword [edi+0x50], SEL_DATA32
    mov dword [edi+0x54], SEL_DATA32
    mov dword [edi+0x58], SEL_DATA32
    mov dword [edi+0x5C], SEL_DATA32
    mov word [edi+0x66], 0x68
    push eax
    mov eax, cr3
    mov [edi+0x1C], eax
    pop eax
    ret

; access byte of a GDT descriptor -> eax
%macro GETACC 1
    movzx eax, byte [GDT_BASE + (%1) + 5]
%endmacro

test_main:
    SETDESC S_TSSA, TSSA, 0x67, 0x89, 0
    SETDESC S_TSSB, TSSB, 0x67, 0x89, 0
    SETGATE GDT_BASE, S_TGB/8, S_TSSB, 0, 0x85, 0
    SETDESC S_TSSC, TSSC, 0x67, 0x89, 0
    SETDESC S_LDTA, LDTA, 0x0F, 0x82, 0
    SETDESC S_TSSD, TSSD, 0x67, 0x89, 0
    ; LDT with one data descriptor (selector 0x0C = index 1, TI=1)
    mov dword [LDTA], 0
    mov dword [LDTA+4], 0
    mov dword [LDTA+8], 0x0000FFFF
    mov dword [LDTA+12], 0x00CF9200

    GROUP 0x51, "JMP to TSS"
    ; ---------------- JMP to TSS A ----------------
    mov edi, TSSA
    mov eax, taskA
    mov ebx, 0x7800
    call init_tss
    mov dword [TSSA+0x28], 0xA0000001   ; EAX
    mov dword [TSSA+0x2C], 0xA0000002   ; ECX
    mov dword [TSSA+0x44], 0xA0000007   ; EDI
    mov dword [TSSA+0x60], S_LDTA       ; LDT
    mov word [TSSA+0], 0x1234           ; back link must stay untouched
    mov eax, cr0
    and eax, ~8
    mov cr0, eax                        ; TS=0 before the switch
    mov ebx, 0x0B0B0B0B
    mov esi, 0x05050505
    mov ebp, 0x0E0E0E0E
    jmp S_TSSA:0
.after_jmp:
    ; back in task 0 (task A jumped back)
    mov [tv+0x40], ebx
    mov [tv+0x44], esi
    mov [tv+0x48], ebp
    mov ax, ds
    movzx eax, ax
    mov [tv+0x4C], eax
    CHK "JMP TSS: task A ran", [tv+0x00], 1
    CHK "JMP TSS: new EAX loaded", [tv+0x04], 0xA0000001
    CHK "JMP TSS: new ECX loaded", [tv+0x08], 0xA0000002
    CHK "JMP TSS: new EDI loaded", [tv+0x0C], 0xA0000007
    CHK "JMP TSS: new ESP loaded", [tv+0x10], 0x7800
    CHK "JMP TSS: TR = new TSS", [tv+0x14], S_TSSA
    CHK "JMP TSS: old TSS saved EIP", [tv+0x18], .after_jmp
    CHK "JMP TSS: old TSS saved EBX", [tv+0x1C], 0x0B0B0B0B
    CHK "JMP TSS: old TSS descriptor not busy", [tv+0x20], 0x89
    CHK "JMP TSS: new TSS descriptor busy", [tv+0x24], 0x8B
    CHK "JMP TSS: NT clear in new task", [tv+0x28], 0
    CHK "JMP TSS: back link not written", [tv+0x2C], 0x1234
    CHK "task switch sets CR0.TS", [tv+0x30], 8
    CHK "JMP TSS: LDTR loaded from TSS", [tv+0x34], S_LDTA
    CHK "JMP TSS: LDT selector usable", [tv+0x38], 0x0C
    CHK "JMP TSS: old TSS saved DS", [tv+0x3C], SEL_DATA32
    CHK "JMP back: EBX restored", [tv+0x40], 0x0B0B0B0B
    CHK "JMP back: ESI restored", [tv+0x44], 0x05050505
    CHK "JMP back: EBP restored", [tv+0x48], 0x0E0E0E0E
    CHK "JMP back: DS restored", [tv+0x4C], SEL_DATA32
    xor eax, eax
    str ax
    CHK "JMP back: TR = TSS0", eax, SEL_TSS0
    mov eax, 0xFFFF
    sldt ax
    CHK "JMP back: LDTR from TSS0 (null)", eax, 0
    GETACC S_TSSA
    CHK "JMP back: task A TSS not busy", eax, 0x89
    GETACC SEL_TSS0
    CHK "JMP back: TSS0 busy again", eax, 0x8B
    CHK "JMP back: task A saved EIP", [TSSA+0x20], taskA.resume
    CHK "JMP back: task A saved EAX", [TSSA+0x28], 0xAAAA5555

    GROUP 0x52, "CALL via task gate, IRET NT"
    ; ---------------- full register image (JMP to TSS E and back) --------
    GROUP 0x55, "JMP TSS: full register image"
    SETDESC S_TSSE, TSSE, 0x67, 0x89, 0
    mov edi, TSSE
    mov eax, taskE
    mov ebx, 0x7400
    call init_tss
    mov dword [TSSE+0x24], 0x8D7        ; EFLAGS: OF SF ZF AF PF CF
    mov dword [TSSE+0x28], 0xE0000001   ; EAX
    mov dword [TSSE+0x2C], 0xE0000002   ; ECX
    mov dword [TSSE+0x30], 0xE0000003   ; EDX
    mov dword [TSSE+0x34], 0xE0000004   ; EBX
    mov dword [TSSE+0x3C], 0xE0000006   ; EBP
    mov dword [TSSE+0x40], 0xE0000007   ; ESI
    mov dword [TSSE+0x44], 0xE0000008   ; EDI
    mov dword [TSSE+0x48], SEL_DATA3    ; ES
    mov dword [TSSE+0x5C], SEL_DATA3    ; GS
    mov [REGS0+0x40], esp
    mov ax, SEL_DATA3
    mov fs, ax
    mov eax, 0x0A0A0A0A
    mov ecx, 0x0C0C0C0C
    mov edx, 0x0D0D0D0D
    mov ebx, 0x0B0B0B0B
    mov ebp, 0x0E0E0E0E
    mov esi, 0x05050505
    mov edi, 0x0D1D1D1D
    push dword 0x883            ; OF SF CF
    popfd
    jmp S_TSSE:0
.after_e:
    pushfd
    mov [REGS0+0x00], eax
    mov [REGS0+0x04], ecx
    mov [REGS0+0x08], edx
    mov [REGS0+0x0C], ebx
    mov [REGS0+0x10], ebp
    mov [REGS0+0x14], esi
    mov [REGS0+0x18], edi
    pop eax
    mov [REGS0+0x1C], eax
    mov ax, fs
    movzx eax, ax
    mov [REGS0+0x20], eax
    mov ax, SEL_DATA32
    mov fs, ax
    mov eax, [REGS0+0x40]
    CHK "task E: EFLAGS loaded", [REGSE+0x1C], 0x8D7
    CHK "task E: EAX loaded", [REGSE+0x00], 0xE0000001
    CHK "task E: ECX loaded", [REGSE+0x04], 0xE0000002
    CHK "task E: EDX loaded", [REGSE+0x08], 0xE0000003
    CHK "task E: EBX loaded", [REGSE+0x0C], 0xE0000004
    CHK "task E: ESP loaded", [REGSE+0x24], 0x7400
    CHK "task E: EBP loaded", [REGSE+0x10], 0xE0000006
    CHK "task E: ESI loaded", [REGSE+0x14], 0xE0000007
    CHK "task E: EDI loaded", [REGSE+0x18], 0xE0000008
    CHK "task E: ES loaded", [REGSE+0x20], SEL_DATA3
    CHK "task E: GS loaded", [REGSE+0x28], SEL_DATA3
    CHK "task E: CS loaded", [REGSE+0x2C], SEL_CODE32
    CHK "TSS0 saved EAX", [REGSE+0x40], 0x0A0A0A0A
    CHK "TSS0 saved ECX", [REGSE+0x44], 0x0C0C0C0C
    CHK "TSS0 saved EDX", [REGSE+0x48], 0x0D0D0D0D
    CHK "TSS0 saved EBX", [REGSE+0x4C], 0x0B0B0B0B
    CHK "TSS0 saved ESP", [REGSE+0x50], eax
    CHK "TSS0 saved EBP", [REGSE+0x54], 0x0E0E0E0E
    CHK "TSS0 saved ESI", [REGSE+0x58], 0x05050505
    CHK "TSS0 saved EDI", [REGSE+0x5C], 0x0D1D1D1D
    CHK "TSS0 saved EFLAGS", [REGSE+0x60], 0x883
    CHK "TSS0 saved ES", [REGSE+0x64], SEL_DATA32
    CHK "TSS0 saved CS", [REGSE+0x68], SEL_CODE32
    CHK "TSS0 saved SS", [REGSE+0x6C], SEL_DATA32
    CHK "TSS0 saved FS", [REGSE+0x70], SEL_DATA3
    CHK "TSS0 saved EIP", [REGSE+0x74], .after_e
    CHK "back in task 0: EAX", [REGS0+0x00], 0x0A0A0A0A
    CHK "back in task 0: ECX", [REGS0+0x04], 0x0C0C0C0C
    CHK "back in task 0: EDX", [REGS0+0x08], 0x0D0D0D0D
    CHK "back in task 0: EBX", [REGS0+0x0C], 0x0B0B0B0B
    CHK "back in task 0: EBP", [REGS0+0x10], 0x0E0E0E0E
    CHK "back in task 0: ESI", [REGS0+0x14], 0x05050505
    CHK "back in task 0: EDI", [REGS0+0x18], 0x0D1D1D1D
    mov eax, [REGS0+0x1C]
    CHK "back in task 0: EFLAGS", eax, 0x883
    CHK "back in task 0: FS", [REGS0+0x20], SEL_DATA3

    ; EFLAGS produced by arithmetic / STC right before the switch must be
    ; saved exactly (QEMU 7.2 TCG loses CF after STC here: XFAIL there)
%macro FLAGSWITCH 3     ; name, {flag-setting insn}, expected & 8D5h
    mov edi, TSSE
    mov eax, taskE
    mov ebx, 0x7400
    call init_tss
    mov eax, 1
    cmp eax, 1                  ; ZF PF
    %2
    jmp S_TSSE:0                ; flags never materialised before the switch
    mov eax, [REGSE+0x60]
    and eax, 0x8D5
    CHKQ %1, eax, %3
%endmacro
    FLAGSWITCH "TSS0 saved EFLAGS after CMP 1,1; STC", {stc}, 0x45
    FLAGSWITCH "TSS0 saved EFLAGS after CMP 1,2", {cmp eax, 2}, 0x95
    FLAGSWITCH "TSS0 saved EFLAGS after ADD 1+7FFFFFFF", {add eax, 0x7FFFFFFF}, 0x894

    ; ---------------- CALL through task gate ----------------
    mov edi, TSSB
    mov eax, taskB
    mov ebx, 0x7A00
    call init_tss
    mov dword [tv], 0
    mov ebx, 0x12121212
    call S_TGB:0
.after_call:
    mov [tv+0x40], ebx
    pushfd
    pop eax
    and eax, 0x4000
    mov [tv+0x44], eax
    CHK "CALL gate: task B ran", [tv+0x00], 1
    CHK "CALL gate: TR = TSS B (gate resolves to it)", [tv+0x04], S_TSSB
    CHK "CALL gate: NT=1 in new task", [tv+0x08], 0x4000
    CHK "CALL gate: back link = TSS0", [tv+0x0C], SEL_TSS0
    CHK "CALL gate: old TSS stays busy", [tv+0x10], 0x8B
    CHK "CALL gate: new TSS busy", [tv+0x14], 0x8B
    CHK "CALL gate: old TSS saved EIP", [tv+0x18], .after_call
    CHK "IRET NT: back in task 0, EBX restored", [tv+0x40], 0x12121212
    CHK "IRET NT: NT of task 0 = 0", [tv+0x44], 0
    GETACC S_TSSB
    CHK "IRET NT: task B TSS no longer busy", eax, 0x89
    GETACC SEL_TSS0
    CHK "IRET NT: TSS0 busy", eax, 0x8B
    CHK "IRET NT: task B saved EIP after its IRET", [TSSB+0x20], taskB.second
    mov eax, [TSSB+0x24]
    and eax, 0x4000
    CHK "IRET NT: NT cleared in saved EFLAGS of task B", eax, 0
    ; second CALL resumes task B after its IRET
    call S_TSSB:0
    CHK "second CALL: task B resumed after IRET", [tv+0x1C], 2

    GROUP 0x53, "INT / #GP via IDT task gate"
    ; ---------------- INT through IDT task gate ----------------
    mov edi, TSSC
    mov eax, taskC
    mov ebx, 0x7C00
    call init_tss
    IDTGATE 0x40, S_TSSC, 0, 0x85
    mov dword [tv], 0
    mov eax, 1
    cmp eax, 2                          ; CF SF AF PF, saved by the switch
    int 0x40
.after_int:
    CHK "INT task gate: task C ran", [tv+0x00], 1
    CHK "INT task gate: TR", [tv+0x04], S_TSSC
    CHK "INT task gate: NT=1", [tv+0x08], 0x4000
    CHK "INT task gate: back link", [tv+0x0C], SEL_TSS0
    CHK "INT task gate: no error code/frame on new stack", [tv+0x10], 0x7C00
    CHK "INT task gate: saved EIP = next insn", [tv+0x18], .after_int
    mov eax, [tv+0x1C]
    and eax, 0x8D5
    CHK "INT task gate: saved EFLAGS after CMP 1,2", eax, 0x95
    IDTRESTORE 0x40

    ; ---------------- #GP through task gate ----------------
    mov edi, TSSD
    mov eax, taskD
    mov ebx, 0x7E00
    call init_tss
    IDTGATE 13, S_TSSD, 0, 0x85
    mov dword [tv], 0
    mov ax, 0x800
.gp_insn:
    mov ds, ax                          ; #GP(0800) -> task D
.gp_recover:
    IDTRESTORE 13
    CHK "#GP via task gate: task D ran", [tv+0x00], 1
    CHK "#GP via task gate: error code pushed on new stack", [tv+0x04], 0x800
    CHK "#GP via task gate: ESP = initial - 4", [tv+0x08], 0x7E00 - 4
    CHK "#GP via task gate: saved EIP = faulting insn", [tv+0x0C], .gp_insn

    GROUP 0x54, "busy TSS"
    ; ---------------- #TS: bad SS0 in the TSS on a ring 3 -> 0 INT --------
    ; The #TS itself goes through a task gate (the ring-0 stack is unusable);
    ; the handler task repairs TSS0 and resumes task 0 in ring 0.
    GROUP 0x56, "#TS from bad TSS.SS0 on privilege change"
    SETDESC S_TSSF, TSSF, 0x67, 0x89, 0
    mov edi, TSSF
    mov eax, taskF
    mov ebx, 0x7200
    call init_tss
    IDTGATE 10, S_TSSF, 0, 0x85
    mov [tv+0x7C], esp
    mov dword [tv], 0
    mov word [TSS0+8], SEL_DATA3 & 0xFFFC       ; SS0: DPL3 data
    mov eax, r3_int_ts
    call call_ring3
.ts_recover:
    mov esp, [tv+0x7C]
    IDTRESTORE 10
    CHK "#TS bad SS0: handler task ran", [tv+0x00], 1
    CHK "#TS bad SS0: error code = SS0 selector", [tv+0x04], SEL_DATA3 & 0xFFFC
    CHK "#TS bad SS0: faulting task saved CS (ring 3)", [tv+0x08], SEL_CODE3
    CHK "#TS bad SS0: faulting task saved EIP = INT", [tv+0x0C], r3_int_ts
    CHK "#TS bad SS0: back link = TSS0", [tv+0x10], SEL_TSS0
    GETACC S_TSSF
    CHK "#TS bad SS0: handler TSS not busy after IRET", eax, 0x89
    mov ax, cs
    movzx eax, ax
    CHK "#TS bad SS0: resumed in ring 0", eax, SEL_CODE32

    ; ---------------- nested tasks: 0 -CALL-> H -CALL-> G, IRET, IRET -------
    GROUP 0x57, "nested task chain"
    SETDESC S_TSSH, TSSH, 0x67, 0x89, 0
    SETDESC S_TSSG, TSSG, 0x67, 0x89, 0
    mov edi, TSSH
    mov eax, taskH
    mov ebx, 0x7000
    call init_tss
    mov edi, TSSG
    mov eax, taskG
    mov ebx, 0x6E00
    call init_tss
    mov dword [tv+0x20], 0
    call S_TSSH:0
    CHK "nested: G back link = H", [tv+0x20], S_TSSH
    CHK "nested: H back link = TSS0", [tv+0x24], SEL_TSS0
    CHK "nested: in G, TSS0 H G all busy", [tv+0x28], 0x8B8B8B
    CHK "nested: back in H, H busy (8B), G not busy (89)", [tv+0x2C], 0x8B89
    CHK "nested: back in H, NT still 1", [tv+0x30], 0x4000
    CHK "nested: back in task 0, TR", [tv+0x34], SEL_TSS0
    xor eax, eax
    str ax
    CHK "nested: TR = TSS0 after both IRETs", eax, SEL_TSS0
    GETACC S_TSSH
    CHK "nested: H not busy at the end", eax, 0x89

    ; ---------------- TSS T bit: #DB on entering the task ----------------
    GROUP 0x58, "TSS debug trap (T bit)"
    SETDESC S_TSSJ, TSSJ, 0x67, 0x89, 0
    mov edi, TSSJ
    mov eax, taskJ
    mov ebx, 0x6C00
    call init_tss
    mov word [TSSJ+0x64], 1             ; T
    xor eax, eax
    mov dr6, eax
    mov dword [tv+0x38], 0
    IRETMODE 0
    jmp S_TSSJ:0
.after_j:
    ENDIRET
    CHK "T bit: task J ran", [tv+0x38], 1
    ; QEMU 7.2 TCG ignores the TSS T bit
    CHKQ "T bit: #DB raised", [exc_vec], 1
    CHKQ "T bit: #DB EIP = first insn of the new task", [exc_eip], taskJ
    mov eax, [exc_dr6]
    and eax, 0x8000
    CHKQ "T bit: DR6.BT", eax, 0x8000
    xor eax, eax
    mov dr6, eax

    ; ---------------- busy TSS ----------------
    EXPECT "JMP to busy TSS (current) -> #GP(sel)", 13, SEL_TSS0, {jmp SEL_TSS0:0}
    EXPECT "CALL to busy TSS -> #GP(sel)", 13, SEL_TSS0, {call SEL_TSS0:0}
    or byte [GDT_BASE+S_TSSB+5], 2      ; mark B busy
    EXPECT "CALL via task gate to busy TSS -> #GP(sel)", 13, S_TSSB, {call S_TGB:0}
    and byte [GDT_BASE+S_TSSB+5], ~2
    ret

; ---------------- tasks ----------------
taskA:
    mov dword [tv+0x00], 1
    mov [tv+0x04], eax
    mov [tv+0x08], ecx
    mov [tv+0x0C], edi
    mov [tv+0x10], esp
    xor eax, eax
    str ax
    mov [tv+0x14], eax
    mov eax, [TSS0+0x20]
    mov [tv+0x18], eax
    mov eax, [TSS0+0x34]
    mov [tv+0x1C], eax
    GETACC SEL_TSS0
    mov [tv+0x20], eax
    GETACC S_TSSA
    mov [tv+0x24], eax
    pushfd
    pop eax
    and eax, 0x4000
    mov [tv+0x28], eax
    movzx eax, word [TSSA]
    mov [tv+0x2C], eax
    mov eax, cr0
    and eax, 8
    mov [tv+0x30], eax
    xor eax, eax
    sldt ax
    mov [tv+0x34], eax
    mov ax, 0x0C
    mov fs, ax
    mov ax, fs
    movzx eax, ax
    mov [tv+0x38], eax
    mov eax, [TSS0+0x54]
    and eax, 0xFFFF
    mov [tv+0x3C], eax
    mov eax, 0xAAAA5555
    clts
    jmp SEL_TSS0:0
.resume:
    jmp .resume

taskE:
    pushfd
    mov [REGSE+0x00], eax
    mov [REGSE+0x04], ecx
    mov [REGSE+0x08], edx
    mov [REGSE+0x0C], ebx
    mov [REGSE+0x10], ebp
    mov [REGSE+0x14], esi
    mov [REGSE+0x18], edi
    pop eax
    mov [REGSE+0x1C], eax
    mov ax, es
    movzx eax, ax
    mov [REGSE+0x20], eax
    lea eax, [esp]
    mov [REGSE+0x24], eax
    mov ax, gs
    movzx eax, ax
    mov [REGSE+0x28], eax
    mov ax, cs
    movzx eax, ax
    mov [REGSE+0x2C], eax
    ; copy the state saved in TSS0
    mov esi, TSS0+0x28
    mov edi, REGSE+0x40
    mov ecx, 8
    mov ax, SEL_DATA32
    mov es, ax
    rep movsd                           ; EAX..EDI
    mov eax, [TSS0+0x24]
    mov [REGSE+0x60], eax
    movzx eax, word [TSS0+0x48]
    mov [REGSE+0x64], eax
    movzx eax, word [TSS0+0x4C]
    mov [REGSE+0x68], eax
    movzx eax, word [TSS0+0x50]
    mov [REGSE+0x6C], eax
    movzx eax, word [TSS0+0x58]
    mov [REGSE+0x70], eax
    mov eax, [TSS0+0x20]
    mov [REGSE+0x74], eax
    clts
    jmp SEL_TSS0:0

r3_int_ts:
    int VEC_RING0                       ; needs the ring-0 stack -> #TS

taskF:
    mov dword [tv+0x00], 1
    mov eax, [esp]
    mov [tv+0x04], eax                  ; error code
    movzx eax, word [TSS0+0x4C]
    mov [tv+0x08], eax
    mov eax, [TSS0+0x20]
    mov [tv+0x0C], eax
    movzx eax, word [TSSF]
    mov [tv+0x10], eax
    ; repair TSS0 and make task 0 resume in ring 0
    mov word [TSS0+8], SEL_DATA32
    mov dword [TSS0+0x20], test_main.ts_recover
    mov dword [TSS0+0x24], 2
    mov dword [TSS0+0x4C], SEL_CODE32
    mov dword [TSS0+0x50], SEL_DATA32
    mov eax, [tv+0x7C]
    mov [TSS0+0x38], eax
    mov dword [TSS0+0x48], SEL_DATA32
    mov dword [TSS0+0x54], SEL_DATA32
    mov dword [TSS0+0x58], SEL_DATA32
    mov dword [TSS0+0x5C], SEL_DATA32
    add esp, 4
    clts
    iret

taskH:
    call S_TSSG:0
    ; back from G
    GETACC S_TSSG
    mov ebx, eax
    GETACC S_TSSH
    shl eax, 8
    or eax, ebx
    mov [tv+0x2C], eax
    pushfd
    pop eax
    and eax, 0x4000
    mov [tv+0x30], eax
    movzx eax, word [TSSH]
    mov [tv+0x24], eax
    mov dword [tv+0x34], SEL_TSS0
    clts
    iret

taskG:
    movzx eax, word [TSSG]
    mov [tv+0x20], eax
    GETACC SEL_TSS0
    shl eax, 16
    mov ebx, eax
    GETACC S_TSSH
    shl eax, 8
    or ebx, eax
    GETACC S_TSSG
    or eax, ebx
    mov [tv+0x28], eax
    clts
    iret

taskJ:
    mov dword [tv+0x38], 1
    clts
    jmp SEL_TSS0:0

taskB:
    mov dword [tv+0x00], 1
    xor eax, eax
    str ax
    mov [tv+0x04], eax
    pushfd
    pop eax
    and eax, 0x4000
    mov [tv+0x08], eax
    movzx eax, word [TSSB]
    mov [tv+0x0C], eax
    GETACC SEL_TSS0
    mov [tv+0x10], eax
    GETACC S_TSSB
    mov [tv+0x14], eax
    mov eax, [TSS0+0x20]
    mov [tv+0x18], eax
    mov dword [tv+0x1C], 1
    clts
    iret
.second:
    mov dword [tv+0x1C], 2
    clts
    iret

taskC:
    mov dword [tv+0x00], 1
    xor eax, eax
    str ax
    mov [tv+0x04], eax
    pushfd
    pop eax
    and eax, 0x4000
    mov [tv+0x08], eax
    movzx eax, word [TSSC]
    mov [tv+0x0C], eax
    mov [tv+0x10], esp
    mov eax, [TSS0+0x20]
    mov [tv+0x18], eax
    mov eax, [TSS0+0x24]
    mov [tv+0x1C], eax
    clts
    iret

taskD:
    mov dword [tv+0x00], 1
    mov eax, [esp]
    mov [tv+0x04], eax
    mov [tv+0x08], esp
    mov eax, [TSS0+0x20]
    mov [tv+0x0C], eax
    ; resume the faulting task after the faulting instruction
    mov dword [TSS0+0x20], test_main.gp_recover
    add esp, 4
    clts
    iret
