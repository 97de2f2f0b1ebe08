; util.asm - small helpers shared by POST and the services:
; COM1 output/input, string and number printing, CMOS access.

; serial_init: COM1 at 115200 baud, 8 data bits, no parity, 1 stop bit.
; Interrupts from the UART stay off (IER=0): the BIOS only polls it.
serial_init:
        push ax
        push dx
        mov dx, COM1+1
        xor al, al
        out dx, al              ; IER = 0
        mov dx, COM1+3
        mov al, 0x80
        out dx, al              ; LCR: DLAB=1 to reach the divisor latch
        mov dx, COM1+0
        mov al, 1
        out dx, al              ; divisor 1 -> 115200 baud (1.8432 MHz / 16)
        mov dx, COM1+1
        xor al, al
        out dx, al
        mov dx, COM1+3
        mov al, 0x03
        out dx, al              ; LCR: 8N1, DLAB=0
        mov dx, COM1+2
        mov al, 0x07
        out dx, al              ; FCR: enable and clear FIFOs
        mov dx, COM1+4
        mov al, 0x03
        out dx, al              ; MCR: DTR + RTS
        pop dx
        pop ax
        ret

; serial_putc: send AL on COM1.  Waits (bounded) for the transmit holding
; register to empty so that a missing UART cannot hang the BIOS.
serial_putc:
        push ax
        push cx
        push dx
        mov ah, al
        mov dx, COM1+5
        mov cx, 0xFFFF
.wait:  in al, dx
        test al, 0x20
        jnz .send
        loop .wait
.send:  mov al, ah
        mov dx, COM1
        out dx, al
        pop dx
        pop cx
        pop ax
        ret

; putc: print AL through INT 10h teletype (which also echoes it to COM1).
putc:
        push ax
        push bx
        mov ah, 0x0E
        mov bx, 0x0007
        int 0x10
        pop bx
        pop ax
        ret

; print_str: print the NUL-terminated string at CS:SI.
print_str:
        push ax
        push si
.next:  cs lodsb
        test al, al
        jz .done
        call putc
        jmp .next
.done:  pop si
        pop ax
        ret

; print_dec: print EAX as an unsigned decimal number.
print_dec:
        push eax
        push ebx
        push cx
        push edx
        mov ebx, 10
        xor cx, cx
.div:   xor edx, edx
        div ebx
        push dx
        inc cx
        test eax, eax
        jnz .div
.out:   pop ax
        add al, '0'
        call putc
        loop .out
        pop edx
        pop cx
        pop ebx
        pop eax
        ret

; print_hex8: print AL as two hex digits.
print_hex8:
        push ax
        push ax
        shr al, 4
        call .nib
        pop ax
        and al, 0x0F
        call .nib
        pop ax
        ret
.nib:   add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'A'-'9'-1
.p:     jmp putc

; cmos_read: AL = register -> AL = value.  Bit 7 of the index port is the
; NMI mask; we leave NMI enabled, as the rest of the system expects.
cmos_read:
        and al, 0x7F
        out 0x70, al
        in al, 0x71
        ret

; cmos_write: AL = register, AH = value.
cmos_write:
        and al, 0x7F
        out 0x70, al
        mov al, ah
        out 0x71, al
        ret

; cmos_read_bcd: like cmos_read, but returns BCD even if the RTC was
; programmed for binary mode (status register B bit 2).
cmos_read_bcd:
        push bx
        mov bl, al
        mov al, 0x0B
        call cmos_read
        mov bh, al
        mov al, bl
        call cmos_read
        test bh, 0x04
        jz .done
        aam                     ; AH = AL / 10, AL = AL % 10
        shl ah, 4
        or al, ah
.done:  pop bx
        ret

; bcd2bin: AL (BCD) -> AL (binary)
bcd2bin:
        push cx
        mov cl, al
        shr al, 4
        mov ch, 10
        mul ch
        and cl, 0x0F
        add al, cl
        pop cx
        ret

; rtc_wait_update: wait (bounded) until the RTC is not mid-update, so the
; time registers read consistently.
rtc_wait_update:
        push ax
        push cx
        mov cx, 0xFFFF
.w:     mov al, 0x0A
        call cmos_read
        test al, 0x80
        jz .ok
        loop .w
.ok:    pop cx
        pop ax
        ret

; get_ebda_ds: DS = EBDA segment (read from the BDA, since a memory manager
; may have moved it).  Clobbers nothing else.
get_ebda_ds:
        push ax
        mov ax, BDA_SEG
        mov ds, ax
        mov ds, [BDA_EBDA]
        pop ax
        ret
