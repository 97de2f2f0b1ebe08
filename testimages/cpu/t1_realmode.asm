; t1_realmode: reset state, real-mode basics, switching to protected mode
; and back, unreal-mode big limits, LGDT/LIDT/SGDT/SIDT, SMSW/LMSW.
%define TESTNAME "t1_realmode"
%define RM_TESTS
%include "lib.inc"

rm_vec      equ tvar+0x00
rm_ip       equ tvar+0x04
rm_recover  equ tvar+0x08
rm_int_cs   equ tvar+0x0C
rm_int_ip   equ tvar+0x10
pm_save_esp equ tvar+0x14
rm_cs_val   equ tvar+0x18
pm16_cs_val equ tvar+0x1C
rm_int_hit  equ tvar+0x20
SCRATCH     equ 0x600

; -----------------------------------------------------------------------------
section rm16
bits 16

; real-mode exception catcher: records vector and faulting IP, resumes at
; [rm_recover]
rm_catch0:
    push ax
    mov ax, 0
    jmp rm_catch_common
rm_catch3:
    push ax
    mov ax, 3
    jmp rm_catch_common
rm_catch6:
    push ax
    mov ax, 6
    jmp rm_catch_common
rm_catch12:
    push ax
    mov ax, 12
    jmp rm_catch_common
rm_catch13:
    push ax
    mov ax, 13
rm_catch_common:
    push bp
    mov bp, sp                  ; [bp]=bp [bp+2]=ax [bp+4]=ip [bp+6]=cs [bp+8]=flags
    push ds
    push word 0
    pop ds
    mov [rm_vec], ax
    mov word [rm_vec+2], 0
    mov ax, [bp+4]
    mov [rm_ip], ax
    mov ax, [rm_recover]
    mov [bp+4], ax
    pop ds
    pop bp
    pop ax
    iret

rm_int40:
    push bp
    mov bp, sp
    push ax
    mov ax, [bp+2]
    mov [rm_int_ip], ax
    mov ax, [bp+4]
    mov [rm_int_cs], ax
    mov word [rm_int_hit], 1
    pop ax
    pop bp
    iret

rm_farproc:
    push bp
    mov bp, sp
    movzx eax, word [bp+4]              ; pushed CS
    pop bp
    retf

rm_int41:
    mov word [rm_int_hit], 0x41
    iret

; install real-mode catchers into the IVT at 0 (DS=0)
rm_install_ivt:
    mov word [0*4], rm_catch0
    mov word [0*4+2], 0xF000
    mov word [3*4], rm_catch3
    mov word [3*4+2], 0xF000
    mov word [6*4], rm_catch6
    mov word [6*4+2], 0xF000
    mov word [12*4], rm_catch12
    mov word [12*4+2], 0xF000
    mov word [13*4], rm_catch13
    mov word [13*4+2], 0xF000
    mov word [0x40*4], rm_int40
    mov word [0x40*4+2], 0xF000
    ret

idtr_real: dw 0x3FF
           dd 0
idtr_reloc: dw 0x3FF
           dd 0x8000
idtr_odd:  dw 0x1234
           dd 0x12345678
gdtr_odd:  dw 0x4321
           dd 0x9ABCDEF0

rm_tests:
    ; --- reset state (SDM 9.1.1, table 9-1) ---
    CHK16 "reset: CR0 = 60000010", [reset_cr0], 0x60000010
    CHK16 "reset: EFLAGS = 00000002", [reset_eflags], 2
    mov eax, [reset_edx]
    shr eax, 8
    and eax, 0xF
    CHK16 "reset: EDX family field = 6", eax, 6
    o32 sidt [SCRATCH]
    movzx eax, word [SCRATCH]
    CHK16 "reset: IDTR limit = FFFF", eax, 0xFFFF
    CHK16 "reset: IDTR base = 0", [SCRATCH+2], 0
    o32 sgdt [SCRATCH]
    movzx eax, word [SCRATCH]
    CHK16 "reset: GDTR limit = FFFF", eax, 0xFFFF
    CHK16 "reset: GDTR base = 0", [SCRATCH+2], 0
    mov ax, cs
    movzx eax, ax
    CHK16 "real: CS = F000 after far jump", eax, 0xF000

    ; --- IVT and software interrupts ---
    o32 lidt [cs:idtr_real]
    call rm_install_ivt
    mov dword [rm_int_hit], 0
    int 0x40
.after_int40:
    CHK16 "real: INT 40 handler ran", [rm_int_hit], 1
    CHK16 "real: INT pushed CS", [rm_int_cs], 0xF000
    CHK16 "real: INT pushed IP of next insn", [rm_int_ip], .after_int40

    ; IDTR base is honoured in real mode (IVT relocated to 0x8000)
    mov word [0x8000+0x41*4], rm_int41
    mov word [0x8000+0x41*4+2], 0xF000
    mov word [0x41*4], rm_int40         ; the wrong one
    mov word [0x41*4+2], 0xF000
    mov dword [rm_int_hit], 0
    o32 lidt [cs:idtr_reloc]
    int 0x41
    o32 lidt [cs:idtr_real]
    CHK16 "real: INT uses IDTR base (IVT at 8000)", [rm_int_hit], 0x41

    ; --- segment arithmetic ---
    mov ax, 0x1000
    mov ds, ax
    mov dword [0x10], 0x11223344
    mov ax, 0x1001
    mov es, ax
    mov eax, [es:0]
    xor bx, bx
    mov ds, bx
    mov es, bx
    CHK16 "real: 1000:0010 aliases 1001:0000", eax, 0x11223344

    ; --- 16-bit stack wraparound: PUSH with SP=0 writes at SS:FFFE ---
    mov ax, 0x2000
    mov es, ax
    mov dword [es:0xFFFC], 0
    mov bx, sp
    mov ax, 0x2000
    mov ss, ax
    xor sp, sp
    push word 0xBEEF
    mov cx, sp
    xor ax, ax
    mov ss, ax
    mov sp, bx
    movzx ecx, cx
    CHK16 "real: PUSH with SP=0 -> SP=FFFE", ecx, 0xFFFE
    movzx eax, word [es:0xFFFE]
    xor dx, dx
    mov es, dx
    CHK16 "real: PUSH with SP=0 writes 2000:FFFE", eax, 0xBEEF

    ; --- far CALL/RETF and IRET restoring FLAGS ---
    call 0xF000:rm_farproc
    CHK16 "real: CALL FAR / RETF round trip", eax, 0xF000
    push word 0x0002                    ; FLAGS for IRET
    push cs
    push word .iret_ret
    push word 0x08D7                    ; FLAGS image (OF SF ZF AF PF CF)
    popf
    iret                                ; pops IP, CS, FLAGS pushed before
.iret_ret:
    pushf
    pop ax
    movzx eax, ax
    and eax, 0x0FD7
    mov ebx, eax
    CHK16 "real: IRET restores FLAGS", ebx, 0x0002

    ; --- #UD through the IVT (fault: IP of UD2) ---
    mov dword [rm_vec], -1
    mov word [rm_recover], .ud_rec
.ud_insn:
    ud2
.ud_rec:
    CHK16 "real: UD2 -> vector 6", [rm_vec], 6
    CHK16 "real: UD2 pushed IP of UD2", [rm_ip], .ud_insn

    ; --- #DE is a fault, INT3 a trap (real mode) ---
    mov dword [rm_vec], -1
    mov word [rm_recover], .de_rec
    xor cx, cx
    mov ax, 1
    xor dx, dx
.de_insn:
    div cx
.de_rec:
    CHK16 "real: DIV by 0 -> vector 0", [rm_vec], 0
    CHK16 "real: #DE pushed IP of DIV", [rm_ip], .de_insn
    mov dword [rm_vec], -1
    mov word [rm_recover], .bp_rec
    int3
.bp_next:
    nop
.bp_rec:
    CHK16 "real: INT3 -> vector 3", [rm_vec], 3
    CHK16 "real: INT3 pushed IP of next insn", [rm_ip], .bp_next

    ; --- segment limit 64K in real mode: #GP / #SS ---
    mov dword [rm_vec], -1
    mov word [rm_recover], .gp_rec
    mov ebx, 0x10000
    mov al, [ebx]                       ; DS limit FFFF -> INT 13
.gp_rec:
    CHKQ16 "real: [DS:10000] beyond limit -> vector 13", [rm_vec], 13
    mov dword [rm_vec], -1
    mov word [rm_recover], .ss_rec
    mov ebx, 0xFFFF
    mov ax, [ss:ebx]                    ; word at FFFF crosses limit -> INT 12
.ss_rec:
    CHKQ16 "real: [SS:FFFF] word beyond limit -> vector 12", [rm_vec], 12

    ; --- SMSW in real mode ---
    smsw ax
    and eax, 1
    CHK16 "real: SMSW PE=0", eax, 0

    ; --- LIDT/LGDT operand size (16-bit operand: 24-bit base) ---
    lidt [cs:idtr_odd]                  ; 16-bit operand size
    o32 sidt [SCRATCH]
    o32 lidt [cs:idtr_real]
    movzx eax, word [SCRATCH]
    CHK16 "real: LIDT o16 limit", eax, 0x1234
    CHK16 "real: LIDT o16 loads 24-bit base", [SCRATCH+2], 0x00345678
    o32 lgdt [cs:gdtr_odd]
    o32 sgdt [SCRATCH]
    movzx eax, word [SCRATCH]
    CHK16 "real: LGDT o32 limit", eax, 0x4321
    CHK16 "real: LGDT o32 loads 32-bit base", [SCRATCH+2], 0x9ABCDEF0
    lgdt [cs:gdtr_odd]
    o32 sgdt [SCRATCH]
    CHK16 "real: LGDT o16 loads 24-bit base", [SCRATCH+2], 0x00BCDEF0
    ret

; reached with CS = SEL_CODE16 (16-bit protected mode)
pm16_go_real:
    mov ax, SEL_DATA32
    mov ds, ax
    mov ax, cs
    movzx eax, ax
    mov [pm16_cs_val], eax
    mov ax, SEL_BIG16                   ; 4 GiB limit data
    mov ds, ax
    mov es, ax
    mov ax, SEL_DATA16                  ; 64 KiB limit data
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov sp, 0x7000
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    jmp 0xF000:rm_again

rm_again:                               ; real mode again
    xor ax, ax
    mov ss, ax                          ; real-mode load: base 0, limit kept
    mov sp, 0x7000
    mov ds, ax                          ; DS keeps its 4 GiB limit (unreal)
    mov fs, ax                          ; FS keeps its 64 KiB limit
    o32 lidt [cs:idtr_real]
    call rm_install_ivt
    mov ax, cs
    movzx eax, ax
    CHK16 "pm->real: CS = F000 after far jump", eax, 0xF000
    CHK16 "pm16: CS selector was 0018", [pm16_cs_val], SEL_CODE16
    mov eax, cr0
    and eax, 1
    CHK16 "pm->real: CR0.PE cleared", eax, 0

    mov dword [rm_vec], -1
    mov word [rm_recover], .big_rec
    mov ebx, 0x200000
    mov dword [ebx], 0xCAFEBABE
    mov eax, [ebx]
    mov edx, [es:ebx+4]
.big_rec:
    CHK16 "unreal: DS 4G limit kept, no fault", [rm_vec], -1
    CHK16 "unreal: read back [DS:200000]", eax, 0xCAFEBABE

    mov dword [rm_vec], -1
    mov word [rm_recover], .fs_rec
    mov ebx, 0x10000
    mov al, [fs:ebx]
.fs_rec:
    CHKQ16 "unreal: FS 64K limit kept -> vector 13", [rm_vec], 13

    ; back to protected mode, this time with LMSW
    smsw ax
    or al, 1
    lmsw ax
    jmp dword SEL_CODE32:pm_back

; -----------------------------------------------------------------------------
section pm32
bits 32

test_main:
    GROUP 0x10, "protected mode state"
    mov ax, cs
    movzx eax, ax
    CHK "pm: CS = 0008 after far jump", eax, SEL_CODE32
    mov ax, ds
    movzx eax, ax
    CHK "pm: DS = 0010", eax, SEL_DATA32
    mov ax, ss
    movzx eax, ax
    CHK "pm: SS = 0010", eax, SEL_DATA32
    mov eax, cr0
    and eax, 1
    CHK "pm: CR0.PE = 1", eax, 1

    sgdt [SCRATCH]
    movzx eax, word [SCRATCH]
    CHK "pm: SGDT limit", eax, GDT_LIMIT
    CHK "pm: SGDT base", [SCRATCH+2], GDT_BASE
    sidt [SCRATCH]
    movzx eax, word [SCRATCH]
    CHK "pm: SIDT limit", eax, IDT_LIMIT
    CHK "pm: SIDT base", [SCRATCH+2], IDT_BASE
    xor eax, eax
    str ax
    CHK "pm: STR = 0038", eax, SEL_TSS0
    mov eax, 0x1234
    sldt ax
    CHK "pm: SLDT = 0", eax, 0

    ; SMSW = low 16 bits of CR0
    mov ebx, cr0
    xor eax, eax
    smsw ax
    and ebx, 0xFFFF
    CHK "pm: SMSW = CR0[15:0]", eax, ebx

    ; LMSW cannot clear PE
    mov ebp, cr0
    smsw ax
    and ax, 0xFFFE
    lmsw ax
    mov eax, cr0
    and eax, 1
    CHK "pm: LMSW cannot clear PE", eax, 1

    ; LMSW loads MP/EM/TS only
    mov ax, 0xFFFF
    lmsw ax
    mov eax, cr0
    mov ecx, eax
    and eax, 0xF
    CHK "pm: LMSW FFFF sets PE MP EM TS", eax, 0xF
    mov edx, ebp
    and edx, 0xFFFFFFF0
    and ecx, 0xFFFFFFF0
    CHK "pm: LMSW leaves CR0[31:4] alone", ecx, edx
    mov ax, 0x0001
    lmsw ax
    mov eax, cr0
    and eax, 0xF
    CHK "pm: LMSW 0001 clears MP EM TS", eax, 1
    mov cr0, ebp

    GROUP 0x11, "PM -> real (unreal) -> PM"
    PRINT "pm: switching to real mode and back"
    mov [pm_save_esp], esp
    jmp SEL_CODE16:pm16_go_real
pm_back:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, [pm_save_esp]
    lidt [idtr_template]
    mov eax, cr0
    and eax, 1
    CHK "real->pm: LMSW set CR0.PE", eax, 1
    CHK "real->pm: unreal write visible at 200000", [0x200000], 0xCAFEBABE
    mov ax, cs
    movzx eax, ax
    CHK "real->pm: CS = 0008", eax, SEL_CODE32
    ret
