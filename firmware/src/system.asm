; system.asm - timer and default interrupt handlers, INT 11h, 12h, 15h, 1Ah.

; default_iret: target for every vector nobody claims.
default_iret:
        iret

; Unclaimed hardware interrupts are acknowledged so the PIC does not stay
; blocked.  A spurious IRQ 7/15 sets no ISR bit and must not be EOI'd, so
; the in-service register is checked first.
irq_master_default:
        push ax
        mov al, 0x0B                    ; OCW3: read ISR
        out 0x20, al
        in al, 0x20
        test al, al
        jz .sp
        mov al, 0x20
        out 0x20, al
.sp:    pop ax
        iret

irq_slave_default:
        push ax
        mov al, 0x0B
        out 0xA0, al
        in al, 0xA0
        test al, al
        jz .sp
        mov al, 0x20
        out 0xA0, al
.sp:    mov al, 0x20                    ; the cascade input is in service on the master
        out 0x20, al
        pop ax
        iret

; IRQ 0 (INT 08h): 18.2 Hz tick.  0x1800B0 ticks make a day.
irq0_handler:
        push ax
        push ds
        mov ax, BDA_SEG
        mov ds, ax
        inc dword [BDA_TICKS]
        cmp dword [BDA_TICKS], 0x001800B0
        jb .ok
        mov dword [BDA_TICKS], 0
        mov byte [BDA_MIDNIGHT], 1
.ok:    int 0x1C                        ; user timer hook
        cli
        mov al, 0x20
        out 0x20, al
        pop ds
        pop ax
        iret

; INT 11h - equipment list
int11_handler:
        push ds
        push BDA_SEG
        pop ds
        mov ax, [BDA_EQUIP]
        pop ds
        iret

; INT 12h - conventional memory size in KiB
int12_handler:
        push ds
        push BDA_SEG
        pop ds
        mov ax, [BDA_MEMKB]
        pop ds
        iret

; ---------------------------------------------------------------------
; INT 1Ah - time of day
int1a_handler:
        sti
        cld
        FRAME_ENTER
        mov ax, BDA_SEG
        mov ds, ax
        mov ah, [bp+F_AH]
        cmp ah, 0x00
        je .gett
        cmp ah, 0x01
        je .sett
        cmp ah, 0x02
        je .getrtc
        cmp ah, 0x03
        je .setrtc
        cmp ah, 0x04
        je .getdate
        cmp ah, 0x05
        je .setdate
        SET_CF                          ; alarms etc. not supported
        jmp .leave
.gett:  cli
        mov ax, [BDA_TICKS]
        mov [bp+F_DX], ax
        mov ax, [BDA_TICKS+2]
        mov [bp+F_CX], ax
        mov al, 0
        xchg al, [BDA_MIDNIGHT]
        sti
        mov [bp+F_AL], al
        jmp .ok
.sett:  cli
        mov ax, [bp+F_DX]
        mov [BDA_TICKS], ax
        mov ax, [bp+F_CX]
        mov [BDA_TICKS+2], ax
        mov byte [BDA_MIDNIGHT], 0
        sti
        jmp .ok
.getrtc:
        call rtc_wait_update
        mov al, 0x04
        call cmos_read_bcd
        mov [bp+F_CH], al
        mov al, 0x02
        call cmos_read_bcd
        mov [bp+F_CL], al
        mov al, 0x00
        call cmos_read_bcd
        mov [bp+F_DH], al
        mov al, 0x0B
        call cmos_read
        and al, 0x01                    ; daylight saving enable bit
        mov [bp+F_DL], al
        jmp .ok
.getdate:
        call rtc_wait_update
        mov al, 0x32
        call cmos_read_bcd
        mov [bp+F_CH], al
        mov al, 0x09
        call cmos_read_bcd
        mov [bp+F_CL], al
        mov al, 0x08
        call cmos_read_bcd
        mov [bp+F_DH], al
        mov al, 0x07
        call cmos_read_bcd
        mov [bp+F_DL], al
        jmp .ok
.setrtc:
        call rtc_set_begin
        mov al, 0x04
        mov ah, [bp+F_CH]
        call rtc_write_bcd
        mov al, 0x02
        mov ah, [bp+F_CL]
        call rtc_write_bcd
        mov al, 0x00
        mov ah, [bp+F_DH]
        call rtc_write_bcd
        mov al, 0x0B
        call cmos_read
        and al, 0xFE
        mov ah, [bp+F_DL]
        and ah, 0x01
        or ah, al
        mov al, 0x0B
        call cmos_write
        call rtc_set_end
        jmp .ok
.setdate:
        call rtc_set_begin
        mov al, 0x32
        mov ah, [bp+F_CH]
        call rtc_write_bcd
        mov al, 0x09
        mov ah, [bp+F_CL]
        call rtc_write_bcd
        mov al, 0x08
        mov ah, [bp+F_DH]
        call rtc_write_bcd
        mov al, 0x07
        mov ah, [bp+F_DL]
        call rtc_write_bcd
        call rtc_set_end
.ok:    CLEAR_CF
.leave: FRAME_LEAVE

; rtc_set_begin/end: hold the RTC update cycle (register B bit 7 "SET")
rtc_set_begin:
        mov al, 0x0B
        call cmos_read
        or al, 0x80
        mov ah, al
        mov al, 0x0B
        jmp cmos_write
rtc_set_end:
        mov al, 0x0B
        call cmos_read
        and al, 0x7F
        mov ah, al
        mov al, 0x0B
        jmp cmos_write

; rtc_write_bcd: AL = register, AH = BCD value; converted if the RTC runs
; in binary mode.
rtc_write_bcd:
        push bx
        mov bx, ax
        mov al, 0x0B
        call cmos_read
        test al, 0x04
        mov ax, bx
        jz .w
        push ax
        mov al, ah
        call bcd2bin
        mov bh, al
        pop ax
        mov ah, bh
.w:     call cmos_write
        pop bx
        ret

; ---------------------------------------------------------------------
; INT 15h - system services
int15_handler:
        cmp ah, 0x4F                    ; keyboard intercept: fast path,
        jne .full                       ; "not consumed" = CF set
        push bp
        mov bp, sp
        or byte [bp+6], FL_CF
        pop bp
        iret
.full:  sti
        cld
        FRAME_ENTER
        call get_ebda_ds
        mov ax, [bp+F_AX]
        cmp ax, 0xE820
        je i15_e820
        cmp ax, 0xE801
        je i15_e801
        cmp ah, 0x88
        je i15_ext
        cmp ah, 0x87
        je i15_move
        cmp ah, 0x24
        je i15_a20
        cmp ah, 0xC0
        je i15_config
        cmp ah, 0xC1
        je i15_ebda
        cmp ah, 0x86
        je i15_wait
        cmp ah, 0x90
        je i15_ok
        cmp ah, 0x91
        je i15_ok
i15_unsupported:
        mov byte [bp+F_AH], 0x86
i15_fail:
        SET_CF
        jmp i15_leave
i15_ok:
        mov byte [bp+F_AH], 0
i15_okcf:
        CLEAR_CF
i15_leave:
        FRAME_LEAVE

; E820h: EDX = 'SMAP', EBX = continuation (entry index), ES:DI = buffer,
; ECX = buffer size.  The map is built at POST in the EBDA.
i15_e820:
        cmp dword [bp+F_EDX], 0x534D4150
        jne i15_unsupported
        mov ebx, [bp+F_EBX]
        movzx eax, byte [EB_E820N]
        cmp ebx, eax
        jae i15_unsupported
        cmp dword [bp+F_ECX], 20
        jb i15_unsupported
        mov es, [bp+F_ES]
        mov di, [bp+F_DI]
        imul si, bx, 20
        add si, EB_E820
        mov cx, 10
        rep movsw
        inc ebx
        cmp ebx, eax
        jb .more
        xor ebx, ebx                    ; 0 = this was the last entry
.more:  mov [bp+F_EBX], ebx
        mov dword [bp+F_EAX], 0x534D4150
        mov dword [bp+F_ECX], 20
        jmp i15_okcf

; E801h: AX/CX = KiB between 1 and 16 MiB, BX/DX = 64 KiB blocks above.
i15_e801:
        mov eax, [EB_EXTKB]
        cmp eax, 0x3C00
        jbe .lo
        mov eax, 0x3C00
.lo:    mov [bp+F_AX], ax
        mov [bp+F_CX], ax
        xor eax, eax
        mov ecx, [EB_RAMTOP]
        cmp ecx, 0x1000000
        jbe .hi
        mov eax, ecx
        sub eax, 0x1000000
        shr eax, 16
.hi:    mov [bp+F_BX], ax
        mov [bp+F_DX], ax
        jmp i15_okcf

; 88h: KiB above 1 MiB (16-bit, saturated)
i15_ext:
        mov eax, [EB_EXTKB]
        cmp eax, 0xFFFF
        jbe .s
        mov ax, 0xFFFF
.s:     mov [bp+F_AX], ax
        jmp i15_okcf

; C0h: ES:BX -> system configuration table in ROM
i15_config:
        mov word [bp+F_ES], BIOS_SEG
        mov word [bp+F_BX], config_table
        jmp i15_ok

; C1h: ES = EBDA segment
i15_ebda:
        mov [bp+F_ES], ds
        jmp i15_okcf

; 24h: A20 gate through the fast A20 port 0x92.
i15_a20:
        mov al, [bp+F_AL]
        cmp al, 0
        je .off
        cmp al, 1
        je .on
        cmp al, 2
        je .status
        cmp al, 3
        je .support
        jmp i15_unsupported
.off:   in al, 0x92
        and al, 0xFC                    ; never set bit 0 (fast reset)
        out 0x92, al
        jmp i15_ok
.on:    in al, 0x92
        and al, 0xFE
        or al, 0x02
        out 0x92, al
        jmp i15_ok
.status:
        in al, 0x92
        shr al, 1
        and al, 1
        mov [bp+F_AL], al
        jmp i15_ok
.support:
        mov word [bp+F_BX], 0x0002      ; port 92h supported
        jmp i15_ok

; 86h: wait CX:DX microseconds.  Counted in 18.2 Hz timer ticks (so the
; resolution is ~55 ms); waits shorter than one tick return at once, and
; so does any wait while the caller has the timer IRQ masked.
i15_wait:
        mov ax, [bp+F_CX]
        shl eax, 16
        mov ax, [bp+F_DX]
        xor edx, edx
        mov ecx, 54925
        div ecx
        test eax, eax
        jz i15_ok
        inc eax
        mov ecx, eax
        in al, 0x21
        test al, 0x01
        jnz i15_ok
        push BDA_SEG
        pop es
        mov ebx, [es:BDA_TICKS]
.w:     sti
        hlt
        mov eax, [es:BDA_TICKS]
        sub eax, ebx
        jns .pos                        ; midnight wrap: treat as elapsed
        jmp i15_ok
.pos:   cmp eax, ecx
        jb .w
        jmp i15_ok

; 87h: copy CX words between the descriptors at ES:SI+10h (source) and
; ES:SI+18h (destination) of the caller's GDT.  Done by switching to
; 16-bit protected mode for the copy, with a GDT of our own in the EBDA.
i15_move:
        cli
        mov cx, [bp+F_CX]
        cmp cx, 0x8000
        ja .bad
        mov es, [bp+F_ES]
        mov si, [bp+F_SI]
        ; GDT: 0 null, 08h code (F000 segment), 10h source, 18h destination
        mov dword [EB_GDT+0], 0
        mov dword [EB_GDT+4], 0
        mov dword [EB_GDT+8], 0x0000FFFF         ; limit FFFF, base F0000
        mov dword [EB_GDT+12], 0x00009B0F        ; present, code, readable
        mov di, EB_GDT+16
        add si, 0x10
        call .desc
        mov di, EB_GDT+24
        add si, 0x08
        call .desc
        mov word [EB_GDTR], 31
        xor eax, eax
        mov ax, ds
        shl eax, 4
        add eax, EB_GDT
        mov [EB_GDTR+2], eax
        in al, 0x92                     ; A20 must be on for the copy
        mov [EB_A20SAVE], al
        or al, 0x02
        and al, 0xFE
        out 0x92, al
        lgdt [EB_GDTR]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp 0x0008:.pm
.pm:    mov ax, 0x10
        mov ds, ax
        mov ax, 0x18
        mov es, ax
        xor si, si
        xor di, di
        rep movsw
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        jmp BIOS_SEG:.rm
.rm:    call get_ebda_ds
        mov al, [EB_A20SAVE]
        and al, 0xFE
        out 0x92, al
        mov es, [bp+F_ES]
        sti
        jmp i15_ok
.bad:   sti
        mov byte [bp+F_AH], 0x01
        jmp i15_fail

; .desc: copy the caller's descriptor ES:SI to DS:DI as a 16-bit,
; byte-granular, writable data segment with the caller's base and limit.
.desc:  mov ax, [es:si]                 ; limit 15:0
        mov [di], ax
        mov eax, [es:si+2]              ; base 23:0 + access byte
        and eax, 0x00FFFFFF
        or eax, 0x93000000              ; present, data, writable
        mov [di+2], eax
        mov al, 0
        mov [di+6], al                  ; byte granular, 16-bit
        mov al, [es:si+7]               ; base 31:24
        mov [di+7], al
        ret

; ---------------------------------------------------------------------
; INT 14h - serial port services, COM1 only (DX = 0).  Polled; the
; line is already set to 115200 8N1 by POST and AH=00h leaves it so.
int14_handler:
        sti
        FRAME_ENTER
        cmp word [bp+F_DX], 0
        jne .absent
        mov ah, [bp+F_AH]
        cmp ah, 0x00
        je .status
        cmp ah, 0x03
        je .status
        cmp ah, 0x01
        je .send
        cmp ah, 0x02
        je .recv
        jmp .leave
.send:  mov al, [bp+F_AL]
        call serial_putc
        mov dx, COM1+5
        in al, dx
        mov [bp+F_AH], al
        jmp .leave
.recv:  mov ecx, 0x00100000
        mov dx, COM1+5
.rw:    in al, dx
        test al, 0x01
        jnz .rgot
        dec ecx
        jnz .rw
        mov byte [bp+F_AH], 0x80        ; timeout
        jmp .leave
.rgot:  mov ah, al
        and ah, 0x1E                    ; error bits only
        mov dx, COM1
        in al, dx
        mov [bp+F_AX], ax
        jmp .leave
.status:
        mov dx, COM1+5
        in al, dx
        mov ah, al
        mov dx, COM1+6
        in al, dx
        mov [bp+F_AX], ax
        jmp .leave
.absent:
        mov byte [bp+F_AH], 0x80
.leave: FRAME_LEAVE
