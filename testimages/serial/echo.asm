; Serial echo ROM for the replay tests (NASM, -f bin, 64 KiB at F000:0).
;
; Real mode, no BIOS. Loops polling COM1; each received byte is echoed
; upper-cased, and folded into a checksum together with the number of
; polls since the previous byte. The checksum therefore depends on the
; exact instruction at which each byte arrived: a replay that delivered
; input one instruction early or late ends in a different state. The
; checksum is kept in DI and at 0000:0500; a PIT tick (IRQ 0 through the
; PIC) counts at 0000:0504 so timer events interleave with the input.
bits 16
org 0

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    ; IVT entry for vector 8 (IRQ 0 with the PIC's power-on base 8 set below)
    mov word [8*4], tick
    mov word [8*4+2], 0xF000
    ; PIC master: ICW1..4, vector base 8, unmask IRQ 0 only
    mov al, 0x11
    out 0x20, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0xFE
    out 0x21, al
    ; PIT channel 0, mode 2, divisor 0x4000
    mov al, 0x34
    out 0x43, al
    xor al, al
    out 0x40, al
    mov al, 0x40
    out 0x40, al
    ; COM1: 8N1, divisor 1, FIFO on
    mov dx, 0x3FB
    mov al, 0x83
    out dx, al
    mov dx, 0x3F8
    mov al, 1
    out dx, al
    mov dx, 0x3F9
    xor al, al
    out dx, al
    mov dx, 0x3FB
    mov al, 0x03
    out dx, al
    mov dx, 0x3FA
    mov al, 0x07
    out dx, al
    xor si, si
    xor di, di
    sti
wait_rx:
    inc si
    mov dx, 0x3FD
    in al, dx
    test al, 1
    jz wait_rx
    mov dx, 0x3F8
    in al, dx
    mov bl, al
    ; checksum = rol(checksum, 3) + polls + byte
    rol di, 3
    add di, si
    movzx ax, bl
    add di, ax
    mov [0x500], di
    xor si, si
    cmp bl, 'a'
    jb .tx
    cmp bl, 'z'
    ja .tx
    sub bl, 32
.tx:
    mov dx, 0x3FD
    in al, dx
    test al, 0x20
    jz .tx
    mov al, bl
    mov dx, 0x3F8
    out dx, al
    jmp wait_rx

tick:
    push ax
    inc word [0x504]
    mov al, 0x20
    out 0x20, al
    pop ax
    iret

    times 0xFFF0-($-$$) db 0
reset:
    jmp 0xF000:start
    times 65536-($-$$) db 0
