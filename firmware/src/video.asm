; video.asm - INT 10h for an 80x25 colour text screen at B800:0000.
;
; Only text mode 3 (and the other text mode numbers, treated as mode 3)
; is implemented, and only display page 0 is drawn.  Every character that
; goes through the teletype paths (AH=0Eh, AH=13h) is also sent to COM1,
; which is how the machine is observed when no display is attached.

COLS            equ 80
ROWS            equ 25

int10_handler:
        sti
        cld
        FRAME_ENTER
        mov ax, BDA_SEG
        mov ds, ax
        mov ax, VIDEO_SEG
        mov es, ax
        movzx bx, byte [bp+F_AH]
        cmp bx, 0x1A
        ja v_done
        shl bx, 1
        jmp [cs:v_table+bx]

v_table:
        dw v_setmode, v_curshape, v_setcur, v_getcur        ; 00-03
        dw v_done, v_page, v_scrollup, v_scrolldown         ; 04-07
        dw v_readca, v_writeca, v_writec, v_done            ; 08-0B
        dw v_done, v_readpix, v_tty, v_getmode              ; 0C-0F
        dw v_done, v_font, v_alt, v_string                  ; 10-13
        dw v_done, v_done, v_done, v_done                   ; 14-17
        dw v_done, v_done, v_dcc                            ; 18-1A

v_done:
        FRAME_LEAVE

; AH=00h set mode.  AL bit 7 = keep the screen contents.
v_setmode:
        mov al, [bp+F_AL]
        and al, 0x7F
        cmp al, 3
        jbe .text
        cmp al, 7
        je .text
        jmp v_done              ; graphics modes are not supported
.text:
        mov byte [BDA_VMODE], 3
        mov word [BDA_VCOLS], COLS
        mov word [BDA_VPAGESZ], 0x1000
        mov word [BDA_VPAGEOFF], 0
        mov byte [BDA_VPAGE], 0
        mov word [BDA_CRTC], 0x3D4
        mov byte [BDA_VMODECTL], 0x29
        mov byte [BDA_VPAL], 0x30
        mov byte [BDA_VROWS], ROWS-1
        mov word [BDA_VCHARH], 16
        mov byte [BDA_VEGAMISC], 0x60
        mov byte [BDA_VEGASW], 0x09
        mov byte [BDA_VFLAGS], 0x51     ; VGA active, 400 scan lines
        mov byte [BDA_VDCC], 0x0B
        xor di, di
        mov cx, 8
        xor ax, ax
        push es
        push ds
        pop es
        mov di, BDA_CURPOS
        rep stosw                       ; all cursors to 0,0
        pop es
        test byte [bp+F_AL], 0x80
        jnz .noclear
        xor di, di
        mov ax, 0x0720
        mov cx, 0x4000
        rep stosw                       ; clear all 32 KiB of text memory
.noclear:
        mov cx, 0x0607
        call set_cursor_shape
        xor dx, dx
        call set_cursor
        ; CRTC start address 0 (page 0 shown)
        mov dx, 0x3D4
        mov ax, 0x000C
        out dx, ax
        mov ax, 0x000D
        out dx, ax
        mov byte [bp+F_AL], 0x30        ; what VGA BIOSes return for text modes
        jmp v_done

; AH=01h cursor shape: CH = start line (bit 5 = hide), CL = end line.
v_curshape:
        mov cx, [bp+F_CX]
        call set_cursor_shape
        jmp v_done

; Programs pass CGA-style scan lines (0-7, e.g. 6/7 for an underline).
; The BDA keeps them as given; the CRTC gets them moved to the bottom of
; our 16-line character cell (lines 4-7 -> 11-14), as VGA BIOSes do.
set_cursor_shape:
        mov [BDA_CURSHAPE], cx          ; byte 0x60 = end, 0x61 = start
        push dx
        push ax
        mov dx, 0x3D4
        mov al, 0x0A
        mov ah, ch
        and ah, 0x3F
        call .scale
        out dx, ax
        mov al, 0x0B
        mov ah, cl
        and ah, 0x1F
        call .scale
        out dx, ax
        pop ax
        pop dx
        ret
.scale: test ch, 0x20                   ; hidden cursor: leave as is
        jnz .s
        test cx, 0xF8F8                 ; not CGA-style values: as given
        jnz .s
        cmp ah, 4
        jb .s
        add ah, 7
.s:     ret

; AH=02h set cursor: BH = page, DH = row, DL = column.
v_setcur:
        movzx bx, byte [bp+F_BH]
        cmp bl, 7
        ja v_done
        mov dx, [bp+F_DX]
        test bl, bl
        jnz .other
        call set_cursor
        jmp v_done
.other: shl bx, 1
        mov [BDA_CURPOS+bx], dx         ; remembered, never shown
        jmp v_done

; set_cursor: DX = row:col for page 0; updates BDA and CRTC registers 0E/0F.
set_cursor:
        push ax
        push dx
        mov [BDA_CURPOS], dx
        mov al, dh
        mov ah, COLS
        mul ah
        xor dh, dh
        add ax, dx                      ; linear cell index
        mov dx, 0x3D4
        push ax
        mov al, 0x0E
        out dx, al
        inc dx
        pop ax
        push ax
        mov al, ah
        out dx, al
        dec dx
        mov al, 0x0F
        out dx, al
        inc dx
        pop ax
        out dx, al
        pop dx
        pop ax
        ret

; AH=03h get cursor: BH = page -> DH,DL position, CH,CL shape.
v_getcur:
        movzx bx, byte [bp+F_BH]
        and bl, 7
        shl bx, 1
        mov dx, [BDA_CURPOS+bx]
        mov [bp+F_DX], dx
        mov cx, [BDA_CURSHAPE]
        mov [bp+F_CX], cx
        jmp v_done

; AH=05h select page: only page 0 exists.
v_page:
        cmp byte [bp+F_AL], 0
        jne v_done
        mov byte [BDA_VPAGE], 0
        jmp v_done

; AH=06h/07h scroll window.  AL = lines (0 = blank), BH = fill attribute,
; CH,CL = upper left, DH,DL = lower right.
v_scrollup:
        xor si, si
        jmp v_scroll
v_scrolldown:
        mov si, 1
v_scroll:
        mov al, [bp+F_AL]
        mov bh, [bp+F_BH]
        mov cx, [bp+F_CX]
        mov dx, [bp+F_DX]
        call scroll_window
        jmp v_done

; scroll_window: AL lines, BH attr, CX upper-left, DX lower-right,
; SI = 0 up / 1 down.  ES = video segment.
scroll_window:
        pusha
        cmp dl, COLS-1
        jbe .c1
        mov dl, COLS-1
.c1:    cmp dh, ROWS-1
        jbe .c2
        mov dh, ROWS-1
.c2:    cmp ch, dh
        ja .ret
        cmp cl, dl
        ja .ret
        mov bl, dh
        sub bl, ch
        inc bl                          ; window height
        test al, al
        jz .clear
        cmp al, bl
        jae .clear
        movzx di, al
.again: mov ax, si
        call scroll1
        dec di
        jnz .again
        jmp .ret
.clear:
        ; blank every row of the window
        mov bl, ch
.crow:  push dx
        mov al, bl
        call fill_row
        pop dx
        inc bl
        cmp bl, dh
        jbe .crow
.ret:   popa
        ret

; fill_row: AL = row, CL..DL columns, BH = attribute.
fill_row:
        push cx
        push di
        call rc_addr
        push ax
        movzx ax, dl
        sub al, cl
        inc ax
        mov cx, ax
        pop ax
        mov ah, bh
        mov al, ' '
        rep stosw
        pop di
        pop cx
        ret

; rc_addr: AL = row, CL = column -> DI = byte offset in video memory.
rc_addr:
        push ax
        mov ah, COLS
        mul ah
        movzx di, cl
        add di, ax
        shl di, 1
        pop ax
        ret

; scroll1: move the window CH,CL-DH,DL by one line; AL = 0 up, 1 down.
; BH = attribute for the uncovered line.
scroll1:
        pusha
        push ds
        push es
        pop ds                          ; DS = ES = video memory
        movzx bp, dl
        push cx
        movzx cx, cl
        sub bp, cx
        inc bp                          ; BP = width in cells
        pop cx
        test al, al
        jnz .down
        mov bl, ch
.up:    cmp bl, dh
        jae .upfill
        mov al, bl
        call rc_addr
        lea si, [di+COLS*2]
        push cx
        mov cx, bp
        rep movsw
        pop cx
        inc bl
        jmp .up
.upfill:
        mov al, dh
        jmp .fill
.down:  mov bl, dh
.dn:    cmp bl, ch
        jbe .dnfill
        mov al, bl
        call rc_addr
        lea si, [di-COLS*2]
        push cx
        mov cx, bp
        rep movsw
        pop cx
        dec bl
        jmp .dn
.dnfill:
        mov al, ch
.fill:  call fill_row
        pop ds
        popa
        ret

; AH=08h read character and attribute at the cursor (page 0).
v_readca:
        mov dx, [BDA_CURPOS]
        mov al, dh
        mov cl, dl
        call rc_addr
        mov ax, [es:di]
        mov [bp+F_AX], ax
        jmp v_done

; AH=09h write char+attr CX times; AH=0Ah write char only.  The cursor
; does not move.
v_writeca:
        mov bh, 1
        jmp v_write
v_writec:
        mov bh, 0
v_write:
        mov dx, [BDA_CURPOS]
        mov al, dh
        mov cl, dl
        call rc_addr
        mov cx, [bp+F_CX]
        mov al, [bp+F_AL]
        mov ah, [bp+F_BL]
.loop:  jcxz .end
        cmp di, COLS*ROWS*2
        jae .end
        mov [es:di], al
        test bh, bh
        jz .skip
        mov [es:di+1], ah
.skip:  add di, 2
        dec cx
        jmp .loop
.end:   jmp v_done

; AH=0Ch/0Dh pixels: no graphics modes, reading returns 0.
v_readpix:
        mov byte [bp+F_AL], 0
        jmp v_done

; AH=0Eh teletype output: AL = character.
v_tty:
        mov al, [bp+F_AL]
        xor bh, bh
        call tty_put
        jmp v_done

; tty_put: write AL at the cursor with teletype semantics (BEL, BS, CR,
; LF handled, wrap and scroll at the edges).  BH = 1: also store BL as
; attribute.  Echoes the character to COM1.  DS = BDA, ES = video.
tty_put:
        pusha
        call serial_putc
        mov dx, [BDA_CURPOS]
        cmp al, 7
        je .ret                         ; bell: no speaker beep, no movement
        cmp al, 8
        jne .nbs
        test dl, dl
        jz .setc
        dec dl
        jmp .setc
.nbs:   cmp al, 13
        jne .ncr
        xor dl, dl
        jmp .setc
.ncr:   cmp al, 10
        jne .print
        inc dh
        jmp .check
.print: mov ah, bl                      ; attribute
        push ax
        mov al, dh
        mov cl, dl
        call rc_addr
        pop ax
        mov [es:di], al
        test bh, bh
        jz .noattr
        mov [es:di+1], ah
.noattr:
        inc dl
        cmp dl, COLS
        jb .check
        xor dl, dl
        inc dh
.check: cmp dh, ROWS
        jb .setc
        push dx
        xor cx, cx
        mov dx, ((ROWS-1) << 8) | (COLS-1)
        mov bh, 0x07
        xor al, al
        call scroll1
        pop dx
        mov dh, ROWS-1
.setc:  call set_cursor
.ret:   popa
        ret

; AH=0Fh get mode: AL = mode, AH = columns, BH = page.
v_getmode:
        mov al, [BDA_VMODE]
        mov ah, [BDA_VCOLS]
        mov [bp+F_AX], ax
        mov al, [BDA_VPAGE]
        mov [bp+F_BH], al
        jmp v_done

; AH=11h character generator.  We have no font: AL=30h returns a pointer
; to an all-zero table in ROM so callers that copy it get valid memory.
v_font:
        cmp byte [bp+F_AL], 0x30
        jne v_done
        mov word [bp+F_ES], BIOS_SEG
        mov bh, [bp+F_BH]
        mov ax, font_zero16
        cmp bh, 2                       ; 8x14
        je .p
        cmp bh, 6                       ; 8x16
        je .p
        cmp bh, 7                       ; 9x16
        je .p
        mov ax, font_zero8
.p:     mov [bp+F_BP], ax
        movzx ax, byte [BDA_VCHARH]
        mov [bp+F_CX], ax
        mov al, [BDA_VROWS]
        mov [bp+F_DL], al
        jmp v_done

; AH=12h alternate select.  BL=10h: EGA information.  The scan-line and
; misc. subfunctions (BL=30h..36h) are accepted and do nothing.
v_alt:
        mov bl, [bp+F_BL]
        cmp bl, 0x10
        jne .other
        mov word [bp+F_BX], 0x0003      ; BH=0 colour, BL=3 = 256 KiB
        mov word [bp+F_CX], 0x0009      ; CH=feature bits, CL=switches
        jmp v_done
.other: cmp bl, 0x30
        jb v_done
        cmp bl, 0x36
        ja v_done
        mov byte [bp+F_AL], 0x12        ; "function supported"
        jmp v_done

; AH=13h write string.  AL bit0 = move cursor, bit1 = string holds
; char/attr pairs.  BH page, BL attr, CX length, DH,DL start, ES:BP string.
v_string:
        mov dx, [BDA_CURPOS]
        push dx                         ; original cursor
        mov dx, [bp+F_DX]
        call set_cursor
        mov cx, [bp+F_CX]
        mov si, [bp+F_BP]
        mov bl, [bp+F_BL]
.next:  jcxz .end
        push ds
        mov ds, [bp+F_ES]
        lodsb
        test byte [bp+F_AL], 2
        jz .noattr
        mov bl, [si]
        inc si
.noattr:
        pop ds
        mov bh, 1
        push cx
        push si
        call tty_put
        pop si
        pop cx
        dec cx
        jmp .next
.end:   pop dx
        test byte [bp+F_AL], 1
        jnz .keep
        call set_cursor                 ; restore the cursor
.keep:  jmp v_done

; AH=1Ah display combination code: report a colour VGA.
v_dcc:
        cmp byte [bp+F_AL], 1
        ja v_done
        jb .get
        mov byte [bp+F_AL], 0x1A
        jmp v_done
.get:   mov byte [bp+F_AL], 0x1A
        mov word [bp+F_BX], 0x0008
        jmp v_done
