; kbd.asm - keyboard: i8042 initialisation, IRQ 1 handler (scan code set 1
; as delivered by the controller's translation) and INT 16h.

; ---- i8042 helpers (bounded waits so a missing controller cannot hang) ----
kbc_wait_in_empty:                      ; wait until we may write
        push cx
        mov cx, 0xFFFF
.w:     in al, 0x64
        test al, 0x02
        jz .ok
        loop .w
.ok:    pop cx
        ret

kbc_read_timeout:                       ; AL = byte from 0x60, CF = timeout
        push cx
        push dx
        mov dx, 0x10
.o:     mov cx, 0xFFFF
.w:     in al, 0x64
        test al, 0x01
        jnz .ok
        loop .w
        dec dx
        jnz .o
        pop dx
        pop cx
        stc
        ret
.ok:    in al, 0x60
        pop dx
        pop cx
        clc
        ret

kbc_cmd:                                ; AL = controller command
        push ax
        call kbc_wait_in_empty
        pop ax
        out 0x64, al
        ret

kbc_data:                               ; AL = byte for the data port
        push ax
        call kbc_wait_in_empty
        pop ax
        out 0x60, al
        ret

kbc_flush:
        push cx
        mov cx, 64
.f:     in al, 0x64
        test al, 0x01
        jz .d
        in al, 0x60
        loop .f
.d:     pop cx
        ret

; kbd_init: self-test the controller, reset the keyboard, then enable
; translation to set 1 and the keyboard interrupt.  The mouse port is
; left disabled.
kbd_init:
        call kbc_flush
        mov al, 0xAD                    ; disable keyboard while we work
        call kbc_cmd
        mov al, 0xA7                    ; disable aux port
        call kbc_cmd
        call kbc_flush
        mov al, 0xAA                    ; controller self test -> 55h
        call kbc_cmd
        call kbc_read_timeout
        mov al, 0x60                    ; write command byte:
        call kbc_cmd
        mov al, 0x64                    ; translate, aux off, system flag, no IRQ yet
        call kbc_data
        mov al, 0xAE                    ; enable keyboard interface
        call kbc_cmd
        mov al, 0xFF                    ; keyboard reset -> FAh, AAh
        call kbc_data
        call kbc_read_timeout
        call kbc_read_timeout
        mov al, 0xF4                    ; enable scanning
        call kbc_data
        call kbc_read_timeout
        call kbc_flush
        mov al, 0x60
        call kbc_cmd
        mov al, 0x65                    ; as above plus IRQ 1 enabled
        call kbc_data
        ret

; ---------------------------------------------------------------------
; IRQ 1 (INT 09h)
irq1_handler:
        pusha
        push ds
        push es
        mov ax, BDA_SEG
        mov ds, ax
        in al, 0x60
        mov ah, 0x4F                    ; let INT 15h/4Fh filter the key
        stc
        int 0x15
        jnc .eoi                        ; CF clear: key was consumed
        call kbd_process
.eoi:   cli
        mov al, 0x20
        out 0x20, al
        pop es
        pop ds
        popa
        iret

; kbd_process: AL = set-1 scan code, DS = BDA.
kbd_process:
        cmp al, 0xE0
        jne .n1
        or byte [BDA_KBF3], 0x02
        ret
.n1:    cmp al, 0xE1                    ; Pause sends E1 1D 45 E1 9D C5
        jne .n2
        or byte [BDA_KBF3], 0x01
        ret
.n2:    test byte [BDA_KBF3], 0x01
        jz .n3
        cmp al, 0xC5
        jne .r
        and byte [BDA_KBF3], 0xFE
.r:     ret
.n3:    mov bl, [BDA_KBF3]
        and byte [BDA_KBF3], 0xFD       ; the E0 prefix applies to one code
        mov ah, al
        and ah, 0x7F                    ; AH = key, AL bit 7 = release
        ; --- modifier keys keep state in 17h/18h ---
        cmp ah, 0x2A
        je .lshift
        cmp ah, 0x36
        je .rshift
        cmp ah, 0x1D
        je .ctrl
        cmp ah, 0x38
        je .alt
        cmp ah, 0x3A
        je .caps
        cmp ah, 0x45
        je .num
        cmp ah, 0x46
        je .scroll
        test al, 0x80
        jnz .r
        ; Ctrl+Alt+Del: warm reboot
        cmp ah, 0x53
        jne .tr
        mov cl, [BDA_KBF1]
        and cl, 0x0C
        cmp cl, 0x0C
        jne .tr
        mov word [BDA_RESETFLAG], 0x1234
        mov al, 0x20                    ; acknowledge IRQ 1 before restarting
        out 0x20, al
        jmp BIOS_SEG:0xFFF0
.tr:    call kbd_translate
        jz .r
        jmp kbd_store
.lshift:
        test bl, 0x02                   ; E0 2A is a "fake shift": ignore
        jnz .r
        mov cl, 0x02
        jmp .hold
.rshift:
        test bl, 0x02
        jnz .r
        mov cl, 0x01
        jmp .hold
.ctrl:  mov cl, 0x04
        jmp .hold
.alt:   mov cl, 0x08
.hold:  test al, 0x80
        jnz .rel
        or [BDA_KBF1], cl
        ret
.rel:   not cl
        and [BDA_KBF1], cl
        ret
.caps:  mov cl, 0x40
        jmp .toggle
.num:   mov cl, 0x20
        jmp .toggle
.scroll:
        mov cl, 0x10
.toggle:
        test al, 0x80
        jnz .trel
        test [BDA_KBF2], cl             ; typematic repeat: toggle once
        jnz .r2
        or [BDA_KBF2], cl
        xor [BDA_KBF1], cl
.r2:    ret
.trel:  not cl
        and [BDA_KBF2], cl
        ret

; kbd_translate: AH = key (make), BL bit1 = E0 prefix, DS = BDA.
; Out: AX = BIOS key word (scan code : ASCII), ZF = 1 if none.
kbd_translate:
        push bx
        push cx
        push si
        mov cl, [BDA_KBF1]
        test bl, 0x02
        jnz .e0
        cmp ah, 0x3B
        jb .main
        cmp ah, 0x44
        jbe .fkey
        cmp ah, 0x57
        je .f11
        cmp ah, 0x58
        je .f12
        cmp ah, 0x47
        jb .none
        cmp ah, 0x53
        ja .none
        ; numeric keypad: digits when NumLock xor Shift
        movzx si, ah
        mov al, [cs:kp_ascii+si-0x47]
        cmp ah, 0x4A
        je .out
        cmp ah, 0x4E
        je .out
        mov ch, cl
        and ch, 0x03
        jz .ns
        mov ch, 0x20
.ns:    mov bh, cl
        and bh, 0x20
        xor ch, bh
        jnz .out
        xor al, al
        jmp .out
.e0:    cmp ah, 0x1C
        jne .e1
        mov al, 0x0D                    ; keypad Enter
        mov ah, 0xE0
        jmp .out
.e1:    cmp ah, 0x35
        jne .e2
        mov al, '/'                     ; keypad slash
        mov ah, 0xE0
        jmp .out
.e2:    cmp ah, 0x47                    ; grey cursor/edit keys
        jb .none
        cmp ah, 0x53
        ja .none
        mov al, 0xE0
        jmp .out
.fkey:  xor al, al
        test cl, 0x08
        jz .f1
        add ah, 0x2D
        jmp .out
.f1:    test cl, 0x04
        jz .f2
        add ah, 0x23
        jmp .out
.f2:    test cl, 0x03
        jz .out
        add ah, 0x19
        jmp .out
.f11:   mov ah, 0x85
        jmp .f1112
.f12:   mov ah, 0x86
.f1112: xor al, al
        test cl, 0x08
        jz .g1
        add ah, 6
        jmp .out
.g1:    test cl, 0x04
        jz .g2
        add ah, 4
        jmp .out
.g2:    test cl, 0x03
        jz .out
        add ah, 2
        jmp .out
.main:  movzx si, ah
        test cl, 0x08                   ; Alt: scan code only
        jz .m1
        xor al, al
        cmp ah, 0x02
        jb .out
        cmp ah, 0x0D
        ja .out
        add ah, 0x76                    ; Alt+digit row uses 78h..83h
        jmp .out
.m1:    mov al, [cs:kb_normal+si]
        mov bh, [cs:kb_shift+si]
        test cl, 0x04
        jnz .ctl
        test cl, 0x03                   ; any shift key down?
        setnz ch
        cmp al, 'a'
        jb .noletter
        cmp al, 'z'
        ja .noletter
        test cl, 0x40                   ; Caps Lock inverts shift for letters
        jz .noletter
        xor ch, 0x01
.noletter:
        test ch, ch
        jz .m2
        mov al, bh
        cmp ah, 0x0F                    ; Shift+Tab: scan code only
        jne .m2
        xor al, al
        jmp .out
.m2:    test al, al
        jz .none
        jmp .out
.ctl:   cmp ah, 0x1C
        jne .c1
        mov al, 0x0A
        jmp .out
.c1:    cmp ah, 0x0E
        jne .c2
        mov al, 0x7F
        jmp .out
.c2:    cmp al, 0x40
        jb .none
        and al, 0x1F
        jmp .out
.none:  xor ax, ax
.out:   test ax, ax
        pop si
        pop cx
        pop bx
        ret

; kbd_store: put AX into the type-ahead buffer.  CF = 1 if it is full.
kbd_store:
        push si
        push di
        mov si, [BDA_KBTAIL]
        mov di, si
        add di, 2
        cmp di, [BDA_KBEND]
        jb .w
        mov di, [BDA_KBSTART]
.w:     cmp di, [BDA_KBHEAD]
        je .full
        mov [si], ax
        mov [BDA_KBTAIL], di
        pop di
        pop si
        clc
        ret
.full:  pop di
        pop si
        stc
        ret

; serial_to_kbd: bytes waiting on COM1 are queued as keystrokes, so a
; machine without a display or keyboard can still be driven over the
; serial line.  DS = BDA.
serial_to_kbd:
        push ax
        push cx
        push dx
        mov cx, 16
.next:  mov dx, COM1+5
        in al, dx
        cmp al, 0xFF                    ; no UART
        je .done
        test al, 0x01
        jz .done
        mov dx, COM1
        in al, dx
        xor ah, ah
        cmp al, 0x0D
        jne .a
        mov ah, 0x1C
.a:     cmp al, 0x7F
        jne .b
        mov al, 0x08
.b:     cmp al, 0x08
        jne .c
        mov ah, 0x0E
.c:     cmp al, 0x1B
        jne .d
        mov ah, 0x01
.d:     cmp al, 0x09
        jne .e
        mov ah, 0x0F
.e:     call kbd_store
        loop .next
.done:  pop dx
        pop cx
        pop ax
        ret

; ---------------------------------------------------------------------
; INT 16h - keyboard services.
int16_handler:
        sti
        cld
        FRAME_ENTER
        mov ax, BDA_SEG
        mov ds, ax
        call serial_to_kbd
        mov ah, [bp+F_AH]
        cmp ah, 0x00
        je .read
        cmp ah, 0x10
        je .read
        cmp ah, 0x01
        je .peek
        cmp ah, 0x11
        je .peek
        cmp ah, 0x02
        je .shift
        cmp ah, 0x12
        je .xshift
        cmp ah, 0x05
        je .push
        cmp ah, 0x09
        je .caps
        cmp ah, 0x0A
        je .id
        jmp .leave                      ; 03h typematic etc.: accepted
.read:  cli
        mov si, [BDA_KBHEAD]
        cmp si, [BDA_KBTAIL]
        jne .got
        sti
        hlt                             ; sleep until the next interrupt
        call serial_to_kbd
        jmp .read
.got:   mov ax, [si]
        add si, 2
        cmp si, [BDA_KBEND]
        jb .g1
        mov si, [BDA_KBSTART]
.g1:    mov [BDA_KBHEAD], si
        sti
        call .compat
        mov [bp+F_AX], ax
        jmp .leave
.peek:  cli
        mov si, [BDA_KBHEAD]
        cmp si, [BDA_KBTAIL]
        sti
        je .empty
        mov ax, [si]
        call .compat
        mov [bp+F_AX], ax
        and byte [bp+F_FLAGS], ~FL_ZF & 0xFF
        jmp .leave
.empty: or byte [bp+F_FLAGS], FL_ZF
        jmp .leave
.shift: mov al, [BDA_KBF1]
        mov [bp+F_AL], al
        jmp .leave
.xshift:
        mov al, [BDA_KBF1]
        mov ah, [BDA_KBF2]
        and ah, 0x73
        mov [bp+F_AX], ax
        jmp .leave
.push:  mov ax, [bp+F_CX]
        call kbd_store
        mov al, 0
        adc al, 0
        mov [bp+F_AL], al
        jmp .leave
.caps:  mov byte [bp+F_AL], 0x20        ; 10h-12h supported
        jmp .leave
.id:    mov word [bp+F_BX], 0x83AB      ; MF2 keyboard
.leave: FRAME_LEAVE

; the original (non-extended) calls report grey keys as plain keys
.compat:
        cmp byte [bp+F_AH], 0x10
        jae .cx
        cmp al, 0xE0
        jne .c0
        test ah, ah
        jz .cx
        xor al, al
.c0:    cmp ah, 0xE0
        jne .cx
        mov ah, 0x1C
        cmp al, 0x0D
        je .cx
        mov ah, 0x35
.cx:    ret

kb_normal:
        db 0, 0x1B, '1234567890-=', 0x08, 0x09
        db 'qwertyuiop[]', 0x0D, 0
        db "asdfghjkl;'`", 0, '\'
        db 'zxcvbnm,./', 0, '*', 0, ' ', 0
kb_shift:
        db 0, 0x1B, '!@#$%^&*()_+', 0x08, 0
        db 'QWERTYUIOP{}', 0x0D, 0
        db 'ASDFGHJKL:"~', 0, '|'
        db 'ZXCVBNM<>?', 0, '*', 0, ' ', 0
kp_ascii:
        db '789-456+1230.'
