; testboot.asm - self-checking boot program for the Capsule BIOS.
;
; Sector 0 is an MBR that loads the rest of this program (15 sectors)
; with INT 13h AH=02h (CHS) and runs it.  The test image (made by
; mkimage.py) has the first dword of every sector from LBA 16 on set to
; that sector's LBA, a second disk (81h) larger than 2^28 sectors, and
; nothing else.  Results go through INT 10h (and so to COM1); at the end
; the program writes the verdict to QEMU's isa-debug-exit port 0xF4 if
; present (0 = pass, 1 = fail) and halts.

        cpu 386
        bits 16
        org 0x7C00

STAGE2_SECTORS  equ 15
BUF1            equ 0x1000          ; segment of a scratch buffer
BUF2            equ 0x2000          ; segment of the multi-sector buffer
BUF3            equ 0x3000

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        cld
        mov [boot_drive], dl
        mov si, msg_hello
        call print
        mov ax, 0x0200 | STAGE2_SECTORS
        mov bx, 0x7E00
        mov cx, 0x0002
        xor dh, dh
        mov dl, [boot_drive]
        int 0x13
        jc .fail
        cmp word [stage2_magic], 0x5AA5
        jne .fail
        jmp stage2
.fail:  mov si, msg_s1fail
        call print
        jmp finish_fail

print:                                  ; DS:SI, NUL terminated
        push ax
        push bx
.l:     lodsb
        test al, al
        jz .d
        mov ah, 0x0E
        mov bx, 7
        int 0x10
        jmp .l
.d:     pop bx
        pop ax
        ret

finish_fail:
        mov al, 1
finish:
        out 0xF4, al                    ; QEMU isa-debug-exit (if present)
.h:     cli
        hlt
        jmp .h

boot_drive:     db 0
msg_hello:      db 'TEST: boot sector running', 13, 10, 0
msg_s1fail:     db 'TEST: stage 2 load FAILED', 13, 10, 0

        times 510-($-$$) db 0
        dw 0xAA55

; ===================================================================
stage2_magic:   dw 0x5AA5
stage2:
        mov si, msg_stage2
        call print
        xor bp, bp                      ; failure count
%macro T 2
        mov si, %%name
        mov ax, %2
        call run_test
        jmp %%over
%%name: db %1, 0
%%over:
%endmacro
        T 'int13 41h ext check', t_ext41
        T 'int13 08h params', t_params
        T 'int13 15h type', t_type
        T 'int13 48h ext params', t_ext48
        T 'int13 42h read 1', t_read1
        T 'int13 42h read 200 multi-seg', t_readmany
        T 'int13 02h CHS read', t_chs
        T 'int13 43h write + 02h read', t_write
        T 'int13 03h CHS write + 42h read', t_write03
        T 'int13 errors + 01h status', t_errors
        T 'int13 81h LBA48 write/read', t_lba48
        T 'int13 81h 28-bit boundary', t_lba28edge
        T 'int13 81h LBA-assist CHS', t_chs81
        T 'int13 floppy -> error', t_floppy
        T 'int13 82h missing -> error', t_nodrive
        T 'int15 E820 map', t_e820
        T 'int15 E801', t_e801
        T 'int15 88h', t_88
        T 'int12 / int11', t_int12
        T 'int15 24h A20', t_a20
        T 'int15 C0h config', t_c0
        T 'int1a timer ticks', t_ticks
        T 'int15 86h wait', t_wait
        T 'int1a RTC time/date', t_rtc
        T 'int15 87h block move', t_move
        T 'int10 queries', t_video
        T 'int16 05h/01h/00h', t_kbd
        T 'keyboard IRQ1 a,B,Enter,Up,F1', t_keys
        test bp, bp
        jnz .bad
        mov si, msg_pass
        call print
        xor al, al
        jmp finish
.bad:   mov si, msg_fail
        call print
        mov ax, bp
        call print_hex16
        mov si, msg_crlf
        call print
        jmp finish_fail

; run_test: SI = name, AX = routine.  Routine returns CF=1 on failure.
run_test:
        push ax
        push si
        mov si, msg_tprefix
        call print
        pop si
        call print
        mov si, msg_dots
        call print
        pop ax
        push bp
        call ax
        pop bp
        jc .f
        mov si, msg_ok
        call print
        ret
.f:     inc bp
        mov si, msg_failed
        call print
        ret

putc:   push ax
        push bx
        mov ah, 0x0E
        mov bx, 7
        int 0x10
        pop bx
        pop ax
        ret
print_hex16:
        push ax
        mov al, ah
        call print_hex8
        pop ax
print_hex8:
        push ax
        shr al, 4
        call .n
        pop ax
        push ax
        and al, 0x0F
        call .n
        pop ax
        ret
.n:     add al, '0'
        cmp al, '9'
        jbe .p
        add al, 7
.p:     jmp putc
print_hex32:                            ; EAX
        push eax
        shr eax, 16
        call print_hex16
        pop eax
        jmp print_hex16
space:  push ax
        mov al, ' '
        call putc
        pop ax
        ret

; dap_io: AH = 42h/43h, DL = drive, EAX = LBA (low), EBX = LBA high,
; CX = count, DI:SI = segment:offset of buffer.  CF from the BIOS.
dap_io:
        mov [dap_fn], ah
        jmp dap_go
dap_read:
        mov byte [dap_fn], 0x42
        jmp dap_go
dap_write:
        mov byte [dap_fn], 0x43
dap_go:
        mov [dap+8], eax
        mov [dap+12], ebx
        mov [dap+2], cx
        mov [dap+4], si
        mov [dap+6], di
        mov byte [dap], 0x10
        mov si, dap
        mov ah, [dap_fn]
        int 0x13
        ret
dap_fn: db 0
dap:    times 16 db 0

; ---------------- the tests ----------------
t_ext41:
        mov ah, 0x41
        mov bx, 0x55AA
        mov dl, 0x80
        int 0x13
        jc .f
        cmp bx, 0xAA55
        jne .f
        test cx, 1
        jz .f
        clc
        ret
.f:     stc
        ret

t_params:
        mov ah, 0x08
        mov dl, 0x80
        int 0x13
        jc .f
        cmp dl, 2                       ; two disks attached
        jne .f
        mov al, cl
        and al, 0x3F
        mov [spt], al
        inc dh
        mov [heads], dh
        mov al, cl
        shr al, 6
        mov ah, al
        mov al, ch
        inc ax
        mov [cyls], ax
        mov si, msg_geom
        call print
        mov ax, [cyls]
        call print_hex16
        call space
        mov al, [heads]
        call print_hex8
        call space
        mov al, [spt]
        call print_hex8
        mov si, msg_crlf
        call print
        clc
        ret
.f:     stc
        ret
spt:    db 0
heads:  db 0
cyls:   dw 0

t_type:
        mov ah, 0x15
        mov dl, 0x80
        int 0x13
        jc .f
        cmp ah, 3
        jne .f
        clc
        ret
.f:     stc
        ret

t_ext48:
        mov word [edd], 0x1E
        mov ah, 0x48
        mov dl, 0x80
        mov si, edd
        int 0x13
        jc .f
        cmp word [edd], 0x1A
        jb .f
        cmp dword [edd+16], 131072      ; 64 MiB disk
        jne .f
        cmp dword [edd+20], 0
        jne .f
        cmp word [edd+24], 512
        jne .f
        clc
        ret
.f:     stc
        ret
edd:    times 0x42 db 0

t_read1:
        mov ah, 0x42
        mov dl, 0x80
        mov eax, 100
        xor ebx, ebx
        mov cx, 1
        xor si, si
        mov di, BUF1
        call dap_read
        jc .f
        push ds
        push BUF1
        pop ds
        cmp dword [0], 100
        pop ds
        jne .f
        cmp word [dap+2], 1
        jne .f
        clc
        ret
.f:     stc
        ret

t_readmany:
        mov ah, 0x42
        mov dl, 0x80
        mov eax, 1000
        xor ebx, ebx
        mov cx, 200
        mov si, 0x0200                  ; odd offset: segments get crossed
        mov di, BUF2
        call dap_read
        jc .f
        cmp word [dap+2], 200
        jne .f
        push es
        mov ax, BUF2
        mov es, ax
        mov eax, 1000
        mov cx, 200
        mov di, 0x0200
.c:     cmp [es:di], eax
        jne .bad
        mov bx, es
        add bx, 0x20
        mov es, bx
        inc eax
        loop .c
        pop es
        clc
        ret
.bad:   pop es
.f:     stc
        ret

; lba_to_chs: EAX = LBA -> CX, DH using the 08h geometry
lba_to_chs:
        xor edx, edx
        movzx ecx, byte [spt]
        div ecx
        inc dl
        mov bl, dl                      ; sector
        xor edx, edx
        movzx ecx, byte [heads]
        div ecx                         ; eax = cyl, dl = head
        mov dh, dl
        mov ch, al
        mov cl, ah
        shl cl, 6
        or cl, bl
        ret

t_chs:
        mov eax, 5000
        call lba_to_chs
        push es
        mov ax, BUF1
        mov es, ax
        xor bx, bx
        mov dl, 0x80
        mov ax, 0x0201
        int 0x13
        jc .bad
        cmp al, 1
        jne .bad
        cmp dword [es:0], 5000
        jne .bad
        pop es
        clc
        ret
.bad:   pop es
        stc
        ret

t_write:
        ; fill BUF3 with a pattern, write it at LBA 3000, read back by CHS
        push es
        mov ax, BUF3
        mov es, ax
        xor di, di
        mov eax, 0xC0DE0000
        mov cx, 128
.fill:  stosd
        inc eax
        loop .fill
        pop es
        mov ah, 0x43
        mov dl, 0x80
        mov eax, 3000
        xor ebx, ebx
        mov cx, 1
        xor si, si
        mov di, BUF3
        call dap_write
        jc .f
        mov eax, 3000
        call lba_to_chs
        push es
        mov ax, BUF1
        mov es, ax
        xor bx, bx
        mov dl, 0x80
        mov ax, 0x0201
        int 0x13
        pop es
        jc .f
        push ds
        push es
        mov ax, BUF1
        mov es, ax
        mov ax, BUF3
        mov ds, ax
        xor si, si
        xor di, di
        mov cx, 256
        repe cmpsw
        pop es
        pop ds
        jne .f
        clc
        ret
.f:     stc
        ret

; write 2 sectors by CHS at LBA 4000, read back by LBA
t_write03:
        push es
        mov ax, BUF3
        mov es, ax
        mov dword [es:0], 0x03030303
        mov dword [es:512], 0x30303030
        mov eax, 4000
        call lba_to_chs
        xor bx, bx
        mov dl, 0x80
        mov ax, 0x0302
        int 0x13
        pop es
        jc .f
        cmp al, 2
        jne .f
        mov dl, 0x80
        mov eax, 4000
        xor ebx, ebx
        mov cx, 2
        xor si, si
        mov di, BUF1
        call dap_read
        jc .f
        push es
        mov ax, BUF1
        mov es, ax
        cmp dword [es:0], 0x03030303
        jne .f2
        cmp dword [es:512], 0x30303030
        jne .f2
        pop es
        clc
        ret
.f2:    pop es
.f:     stc
        ret

; reading past the end of the disk fails with AH=04h, AH=01h reports it,
; a bad function number gives AH=01h
t_errors:
        mov dl, 0x80
        mov eax, 131072 - 1             ; last sector + 1 more
        xor ebx, ebx
        mov cx, 2
        xor si, si
        mov di, BUF1
        call dap_read
        jnc .f
        cmp ah, 0x04
        jne .f
        mov ah, 0x01
        mov dl, 0x80
        int 0x13
        jnc .f
        cmp ah, 0x04
        jne .f
        mov ah, 0x00                    ; reset clears the status
        mov dl, 0x80
        int 0x13
        jc .f
        mov ah, 0x01
        mov dl, 0x80
        int 0x13
        jc .f
        test ah, ah
        jnz .f
        mov ah, 0x3F                    ; no such function
        mov dl, 0x80
        int 0x13
        jnc .f
        cmp ah, 0x01
        jne .f
        mov ah, 0x04                    ; verify a valid CHS address
        mov al, 1
        mov cx, 0x0001
        xor dh, dh
        mov dl, 0x80
        int 0x13
        jc .f
        clc
        ret
.f:     stc
        ret

; write 1 sector at LBA 0x10000123 of disk 81h and read it back
t_lba48:
        mov word [edd], 0x1A
        mov ah, 0x48
        mov dl, 0x81
        mov si, edd
        int 0x13
        jc .f
        cmp dword [edd+16], 0x19000000  ; 200 GiB / 512
        jne .f
        mov eax, 0x10000123
        call big_rw
        ret
.f:     stc
        ret

; 2 sectors starting at 0x0FFFFFFF: the second one needs LBA48
t_lba28edge:
        mov eax, 0x0FFFFFFF
        call big_rw
        ret

; big_rw: write BUF3 (2 sectors, tagged with EAX) at LBA EAX of 81h,
; clear BUF1, read back, compare.
big_rw:
        mov [.lba], eax
        push es
        mov bx, BUF3
        mov es, bx
        mov [es:0], eax
        mov [es:512], eax
        not dword [es:512]
        mov bx, BUF1
        mov es, bx
        xor di, di
        xor ax, ax
        mov cx, 512
        rep stosw
        pop es
        mov ah, 0x43
        mov dl, 0x81
        mov eax, [.lba]
        xor ebx, ebx
        mov cx, 2
        xor si, si
        mov di, BUF3
        call dap_write
        jc .f
        mov ah, 0x42
        mov dl, 0x81
        mov eax, [.lba]
        xor ebx, ebx
        mov cx, 2
        xor si, si
        mov di, BUF1
        call dap_read
        jc .f
        push ds
        push es
        mov ax, BUF1
        mov es, ax
        mov ax, BUF3
        mov ds, ax
        xor si, si
        xor di, di
        mov cx, 512
        repe cmpsw
        pop es
        pop ds
        jne .f
        clc
        ret
.f:     stc
        ret
.lba:   dd 0

; disk 81h (200 GiB) must get the LBA-assist geometry 1024/255/63; a
; sector written by LBA must read back at the matching CHS address.
CHS81_LBA equ (1000*255+200)*63+4       ; C=1000 H=200 S=5
t_chs81:
        mov ah, 0x08
        mov dl, 0x81
        int 0x13
        jc .f
        cmp cx, 0xFFFF                  ; max cylinder 1023, 63 sectors
        jne .f
        cmp dh, 254
        jne .f
        push es
        mov ax, BUF3
        mov es, ax
        mov dword [es:0], 0xC45C45
        mov dword [es:4], CHS81_LBA
        pop es
        mov dl, 0x81
        mov eax, CHS81_LBA
        xor ebx, ebx
        mov cx, 1
        xor si, si
        mov di, BUF3
        call dap_write
        jc .f
        push es
        mov ax, BUF1
        mov es, ax
        xor bx, bx
        mov ax, 0x0201
        mov cx, ((1000 & 0xFF) << 8) | ((1000 >> 2) & 0xC0) | 5
        mov dx, (200 << 8) | 0x81
        int 0x13
        jc .f2
        cmp dword [es:0], 0xC45C45
        jne .f2
        cmp dword [es:4], CHS81_LBA
        jne .f2
        pop es
        clc
        ret
.f2:    pop es
.f:     stc
        ret

t_floppy:
        push es
        mov ax, BUF1
        mov es, ax
        xor bx, bx
        mov ax, 0x0201
        mov cx, 1
        xor dx, dx
        int 0x13
        pop es
        cmc                             ; an error is the expected result
        ret

t_nodrive:
        mov ah, 0x08
        mov dl, 0x82
        int 0x13
        cmc
        ret

t_e820:
        mov si, msg_crlf
        call print
        xor ebx, ebx
        mov byte [.n], 0
.next:  mov eax, 0xE820
        mov edx, 0x534D4150
        mov ecx, 24
        mov di, e820buf
        int 0x15
        jc .f
        cmp eax, 0x534D4150
        jne .f
        cmp ecx, 20
        jne .f
        inc byte [.n]
        push ebx
        mov si, msg_e820
        call print
        mov eax, [e820buf+4]
        call print_hex32
        mov eax, [e820buf]
        call print_hex32
        call space
        mov eax, [e820buf+12]
        call print_hex32
        mov eax, [e820buf+8]
        call print_hex32
        call space
        mov al, [e820buf+16]
        call print_hex8
        mov si, msg_crlf
        call print
        pop ebx
        ; the extended-memory entry must be 1 MiB .. 32 MiB, usable
        cmp dword [e820buf], 0x100000
        jne .nx
        cmp dword [e820buf+8], 0x1F00000
        jne .f
        cmp dword [e820buf+16], 1
        jne .f
        or byte [.n], 0x80
.nx:    test ebx, ebx
        jnz .next
        cmp byte [.n], 0x85             ; five entries, extended one seen
        jne .f
        ; a continuation value past the end must fail
        mov eax, 0xE820
        mov edx, 0x534D4150
        mov ebx, 99
        mov ecx, 20
        mov di, e820buf
        int 0x15
        cmc
        ret
.f:     stc
        ret
.n:     db 0
e820buf: times 24 db 0

t_e801:
        mov ax, 0xE801
        int 0x15
        jc .f
        cmp ax, 0x3C00
        jne .f
        cmp bx, 256                     ; (32 - 16) MiB / 64 KiB
        jne .f
        cmp cx, ax
        jne .f
        cmp dx, bx
        jne .f
        clc
        ret
.f:     stc
        ret

t_88:
        mov ah, 0x88
        int 0x15
        jc .f
        cmp ax, 31744
        jne .f
        clc
        ret
.f:     stc
        ret

t_int12:
        int 0x12
        cmp ax, 639
        jne .f
        int 0x11
        and ax, 0x30
        cmp ax, 0x20
        jne .f
        clc
        ret
.f:     stc
        ret

; copy 0x7C00 (512 bytes) -> 0x200000 -> 0x30000 and compare
t_move:
        mov esi, 0x7C00
        mov edi, 0x200000
        call .mv
        jc .f
        mov esi, 0x200000
        mov edi, 0x30000
        call .mv
        jc .f
        push es
        mov ax, BUF3
        mov es, ax
        mov si, 0x7C00
        xor di, di
        mov cx, 256
        repe cmpsw
        pop es
        jne .f
        clc
        ret
.f:     stc
        ret
.mv:    ; build the caller GDT: entries 2 (source) and 3 (destination)
        mov edx, edi
        mov di, gdt
        xor ax, ax
        mov cx, 24
        rep stosw
        mov word [gdt+0x10], 0xFFFF
        mov [gdt+0x12], esi
        mov byte [gdt+0x15], 0x93
        shr esi, 24
        mov eax, esi
        mov [gdt+0x17], al
        mov word [gdt+0x18], 0xFFFF
        mov [gdt+0x1A], edx
        mov byte [gdt+0x1D], 0x93
        shr edx, 24
        mov eax, edx
        mov [gdt+0x1F], al
        mov si, gdt
        mov cx, 256
        mov ah, 0x87
        int 0x15
        jc .e
        test ah, ah
        jnz .e
        clc
        ret
.e:     stc
        ret
gdt:    times 48 db 0

t_a20:
        mov ax, 0x2403
        int 0x15
        jc .f
        test bx, 2
        jz .f
        mov ax, 0x2401
        int 0x15
        jc .f
        mov ax, 0x2402
        int 0x15
        jc .f
        cmp al, 1
        jne .f
        clc
        ret
.f:     stc
        ret

t_c0:
        push es
        mov ah, 0xC0
        int 0x15
        jc .f
        cmp byte [es:bx+2], 0xFC
        jne .f
        pop es
        clc
        ret
.f:     pop es
        stc
        ret

t_wait:
        mov ah, 0x86
        mov cx, 0x0001                  ; 0x186A0 us = 100 ms
        mov dx, 0x86A0
        int 0x15
        ret

t_ticks:
        xor ah, ah
        int 0x1A
        mov bx, dx
        mov cx, 3
.w:     hlt
        loop .w
        xor ah, ah
        int 0x1A
        cmp dx, bx
        je .f
        clc
        ret
.f:     stc
        ret

t_rtc:
        mov ah, 0x02
        int 0x1A
        jc .f
        push cx
        push dx
        mov ah, 0x04
        int 0x1A
        jc .f2
        mov al, dh                      ; month 01..12 (BCD)
        cmp al, 0x01
        jb .f2
        cmp al, 0x12
        ja .f2
        mov si, msg_date
        call print
        mov al, ch
        call print_hex8
        mov al, cl
        call print_hex8
        mov al, '-'
        call putc
        mov al, dh
        call print_hex8
        mov al, '-'
        call putc
        mov al, dl
        call print_hex8
        call space
        pop dx
        pop cx
        mov al, ch
        call print_hex8
        mov al, ':'
        call putc
        mov al, cl
        call print_hex8
        mov al, ':'
        call putc
        mov al, dh
        call print_hex8
        mov si, msg_crlf
        call print
        clc
        ret
.f2:    pop dx
        pop cx
.f:     stc
        ret

t_video:
        mov ah, 0x0F
        int 0x10
        cmp al, 3
        jne .f1
        cmp ah, 80
        jne .f2
        push es
        push bp
        mov ax, 0x1130
        mov bh, 6
        int 0x10
        pop bp
        pop es
        cmp cx, 16
        jne .f3
        cmp dl, 24
        jne .f4
        mov ah, 0x12
        mov bl, 0x10
        int 0x10
        cmp bl, 0x10
        je .f5
        mov ax, 0x1A00
        int 0x10
        cmp al, 0x1A
        jne .f6
        ; write a string with AH=13h at the current cursor, then check
        ; the cursor moved by its length
        mov ah, 0x03
        xor bh, bh
        int 0x10
        push dx
        push bp
        mov ax, 0x1301
        mov bx, 0x0007
        mov cx, msg_str_end - msg_str
        mov bp, msg_str
        int 0x10
        pop bp
        mov ah, 0x03
        xor bh, bh
        int 0x10
        pop bx
        add bl, msg_str_end - msg_str
        cmp dx, bx
        jne .f7
        ; (AH=08h read-back is not checked: without a VGA BIOS, QEMU's VGA
        ; is not in text mode and B8000 does not read back as written.)
        clc
        ret
.f1:    mov al, '1'
        jmp .fx
.f2:    mov al, '2'
        jmp .fx
.f3:    mov al, '3'
        jmp .fx
.f4:    mov al, '4'
        jmp .fx
.f5:    mov al, '5'
        jmp .fx
.f6:    mov al, '6'
        jmp .fx
.f7:    mov al, '7'
        jmp .fx
.f8:    mov al, '8'
        jmp .fx
.fx:    call putc
.f:     stc
        ret

t_kbd:
        mov ah, 0x01
        int 0x16
        jnz .f                          ; buffer should be empty
        mov ah, 0x05
        mov cx, 0x1E61
        int 0x16
        test al, al
        jnz .f
        mov ah, 0x01
        int 0x16
        jz .f
        cmp ax, 0x1E61
        jne .f
        xor ah, ah
        int 0x16
        cmp ax, 0x1E61
        jne .f
        mov ah, 0x01
        int 0x16
        jnz .f
        clc
        ret
.f:     stc
        ret

; t_keys: the test harness types a, Shift+b, Enter, Up, F1 into QEMU's
; keyboard once it sees the prompt; they must come back through IRQ 1,
; the scan code translation and INT 16h.
t_keys:
        mov si, msg_keys
        call print
        ; wait up to ~10 s for the first key; with nobody typing (an
        ; emulator run without key injection) the test is skipped
        xor ah, ah
        int 0x1A
        mov bx, dx
.idle:  mov ah, 0x11
        int 0x16
        jnz .typed
        hlt
        xor ah, ah
        int 0x1A
        sub dx, bx
        cmp dx, 182
        jb .idle
        mov si, msg_nokeys
        call print
        clc
        ret
.typed: mov si, keys_expected
.next:  lodsw
        test ax, ax
        jz .done
        mov bx, ax
        mov ah, 0x10
        int 0x16
        push ax
        call print_hex16
        call space
        pop ax
        cmp ax, bx
        jne .f
        jmp .next
.done:  clc
        ret
.f:     stc
        ret
keys_expected:
        dw 0x1E61, 0x3042, 0x1C0D, 0x48E0, 0x3B00, 0
msg_keys:       db '[type keys now] ', 0
msg_nokeys:     db 'skipped, nobody typed ', 0
msg_stage2:     db 'TEST: stage 2 loaded by CHS read', 13, 10, 0
msg_tprefix:    db 'TEST: ', 0
msg_dots:       db ' ... ', 0
msg_ok:         db 'ok', 13, 10, 0
msg_failed:     db 'FAIL', 13, 10, 0
msg_pass:       db 'TEST: ALL TESTS PASSED', 13, 10, 0
msg_fail:       db 'TEST: FAILURES: ', 0
msg_crlf:       db 13, 10, 0
msg_geom:       db '[C/H/S ', 0
msg_e820:       db '  e820 ', 0
msg_date:       db '[', 0
msg_str:        db '[int10 13h]'
msg_str_end:

        times (1+STAGE2_SECTORS)*512-($-$$) db 0
