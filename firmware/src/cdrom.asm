; cdrom.asm - ATAPI CD-ROM: packet commands, El Torito boot (no-emulation
; mode) and INT 13h services for drive E0h (2048-byte sectors, EDD calls).

; atapi_identify: DS:BX = CD entry (base/ctrl/slave set).  IDENTIFY
; PACKET DEVICE for the model string; marks the entry present.
atapi_identify:
        pusha
        push es
        mov dx, [bx+D_BASE]
        add dx, ATA_CMD
        mov al, 0xA1                    ; IDENTIFY PACKET DEVICE
        out dx, al
        call ata_delay400
        call ata_wait_nbsy
        jc .done
        test al, ST_DRQ
        jz .done
        mov ax, SCRATCH_SEG
        mov es, ax
        xor di, di
        mov cx, 256
        mov dx, [bx+D_BASE]
        rep insw
        call copy_model
        mov byte [bx+D_PRESENT], 1
.done:  pop es
        popa
        ret

; atapi_packet: send the 12-byte packet at EB_PKT to the CD at DS:BX
; (DS = EBDA) and read any data it returns into ES:DI (PIO, at most
; 2048 bytes per DRQ block).  CF = 1 on error.  Clobbers AX, CX, DX, SI, DI.
atapi_packet:
        mov dx, [bx+D_BASE]
        add dx, ATA_STATUS
        call ata_wait_nbsy
        jc .err
        mov dx, [bx+D_BASE]
        add dx, ATA_DEV
        mov al, 0xA0
        or al, [bx+D_SLAVE]
        out dx, al
        call ata_delay400
        inc dx
        call ata_wait_nbsy
        jc .err
        mov dx, [bx+D_BASE]
        inc dx                          ; features: PIO, no overlap
        xor al, al
        out dx, al
        add dx, 3
        out dx, al                      ; byte count limit = 0800h
        inc dx
        mov al, 0x08
        out dx, al
        add dx, 2
        mov al, 0xA0                    ; PACKET
        out dx, al
        call ata_delay400
        call ata_wait_nbsy
        jc .err
        test al, ST_ERR
        jnz .err
        test al, ST_DRQ
        jz .err
        mov dx, [bx+D_BASE]
        mov si, EB_PKT
        mov cx, 6
        rep outsw
.data:  call ata_delay400
        mov dx, [bx+D_BASE]
        add dx, ATA_STATUS
        call ata_wait_nbsy
        jc .err
        test al, ST_ERR
        jnz .err
        test al, ST_DRQ
        jz .ok
        mov dx, [bx+D_BASE]
        add dx, ATA_LBA1
        in al, dx                       ; byte count of this DRQ block
        mov cl, al
        inc dx
        in al, dx
        mov ch, al
        inc cx
        shr cx, 1
        mov dx, [bx+D_BASE]
        rep insw
        jmp .data
.ok:    clc
        ret
.err:   stc
        ret

; atapi_clear_pkt: zero the packet buffer.
atapi_clear_pkt:
        mov dword [EB_PKT], 0
        mov dword [EB_PKT+4], 0
        mov dword [EB_PKT+8], 0
        ret

; atapi_sense: REQUEST SENSE, which also clears a pending UNIT ATTENTION
; (reported once after reset / media change).
atapi_sense:
        push es
        call atapi_clear_pkt
        mov byte [EB_PKT], 0x03
        mov byte [EB_PKT+4], 18
        push ds
        pop es
        mov di, EB_SENSE
        call atapi_packet
        pop es
        ret

; cd_read: read EB_X_COUNT 2048-byte sectors from EB_X_LBA into EB_X_BUF.
; DS = EBDA, BX = CD entry.  Out: AL = status, EB_X_DONE = sectors read.
cd_read:
        mov word [EB_X_DONE], 0
.next:  mov ax, [EB_X_DONE]
        cmp ax, [EB_X_COUNT]
        jae .ok
        mov ax, [EB_X_BUF]              ; normalise so 2 KiB never wraps
        mov cx, ax
        shr cx, 4
        add [EB_X_BUF+2], cx
        and ax, 0x000F
        mov [EB_X_BUF], ax
        mov cx, 4                       ; tries per sector
.try:   push cx
        push es
        call atapi_clear_pkt
        mov byte [EB_PKT], 0x28         ; READ(10)
        movzx eax, word [EB_X_DONE]
        add eax, [EB_X_LBA]
        xchg al, ah                     ; LBA is big-endian in the packet
        rol eax, 16
        xchg al, ah
        mov [EB_PKT+2], eax
        mov byte [EB_PKT+8], 1          ; one block
        les di, [EB_X_BUF]
        call atapi_packet
        pop es
        pop cx
        jnc .got
        push cx
        call atapi_sense
        pop cx
        loop .try
        mov al, 0x20
        ret
.got:   add word [EB_X_BUF+2], 2048/16
        inc word [EB_X_DONE]
        jmp .next
.ok:    xor al, al
        ret

; cd_boot: El Torito boot from the CD, no-emulation images only.
; Returns (to INT 19h) only if the CD cannot be booted.
cd_boot:
        call get_ebda_ds
        cmp byte [EB_CD+D_PRESENT], 0
        je .ret
        mov bx, EB_CD
        ; boot record volume descriptor, sector 17
        mov eax, 17
        call .read1
        jc .bad
        cmp dword [es:CD_BUF+1], 'CD00'
        jne .bad
        cmp dword [es:CD_BUF+7], 'EL T'
        jne .bad
        cmp dword [es:CD_BUF+0x0B], 'ORIT'
        jne .bad
        mov eax, [es:CD_BUF+0x47]       ; boot catalog location
        call .read1
        jc .bad
        cmp byte [es:CD_BUF], 1         ; validation entry
        jne .bad
        cmp word [es:CD_BUF+0x1E], 0xAA55
        jne .bad
        cmp byte [es:CD_BUF+0x20], 0x88 ; initial entry: bootable
        jne .bad
        mov al, [es:CD_BUF+0x21]
        and al, 0x0F
        jnz .emul                       ; floppy/HD emulation: unsupported
        ; fill the specification packet returned by INT 13h AX=4B01h
        mov byte [EB_CDSPEC+0], 0x13
        mov byte [EB_CDSPEC+1], 0       ; no emulation
        mov byte [EB_CDSPEC+2], CD_DRIVE
        mov al, [EB_CD+D_CHAN]
        mov [EB_CDSPEC+3], al
        mov eax, [es:CD_BUF+0x28]
        mov [EB_CDSPEC+4], eax          ; image LBA
        mov al, [EB_CD+D_SLAVE]
        shr al, 4
        movzx ax, al
        mov [EB_CDSPEC+8], ax           ; 0 master, 1 slave
        mov word [EB_CDSPEC+10], 0
        mov ax, [es:CD_BUF+0x22]
        test ax, ax
        jnz .seg
        mov ax, 0x07C0
.seg:   mov [EB_CDSPEC+12], ax          ; load segment
        mov cx, [es:CD_BUF+0x26]
        test cx, cx
        jnz .cnt
        mov cx, 4
.cnt:   mov [EB_CDSPEC+14], cx          ; 512-byte virtual sectors
        mov dword [EB_CDSPEC+16], 0
        ; load the image
        add cx, 3
        shr cx, 2
        mov [EB_X_COUNT], cx
        mov eax, [EB_CDSPEC+4]
        mov [EB_X_LBA], eax
        mov word [EB_X_BUF], 0
        mov ax, [EB_CDSPEC+12]
        mov [EB_X_BUF+2], ax
        call cd_read
        test al, al
        jnz .bad
        PRINT `Booting from CD-ROM E0h (El Torito)...\r\n`
        POST_CODE 0x22
        mov ax, [EB_CDSPEC+12]
        xor cx, cx
        cmp ax, 0x1000                  ; enter as 0000:xxxx when it fits
        jae .far
        shl ax, 4
        push cx
        push ax
        jmp .go
.far:   push ax
        push cx
.go:    xor ax, ax
        mov ds, ax
        mov es, ax
        xor bx, bx
        xor si, si
        xor di, di
        xor bp, bp
        mov dx, CD_DRIVE
        retf
.emul:  PRINT `CD-ROM: emulation boot images are not supported\r\n`
        ret
.bad:   PRINT `CD-ROM E0h: not bootable\r\n`
.ret:   ret

; .read1: read CD sector EAX into 0000:CD_BUF; ES = 0 afterwards.
.read1: mov [EB_X_LBA], eax
        mov word [EB_X_COUNT], 1
        mov word [EB_X_BUF], CD_BUF
        mov word [EB_X_BUF+2], 0
        call cd_read
        xor cx, cx
        mov es, cx
        test al, al
        jz .r1
        stc
        ret
.r1:    clc
        ret

; ---------------------------------------------------------------------
; INT 13h for the CD-ROM drive E0h (entered from int13_handler with the
; register frame set up, DS = EBDA, AH = function).
i13_cd:
        mov bx, EB_CD
        cmp ah, 0x00
        je i13_ok
        cmp ah, 0x01
        je i13_getstatus
        cmp ah, 0x41
        je i13_extcheck
        cmp ah, 0x42
        je .read
        cmp ah, 0x43
        je .wp
        cmp ah, 0x44
        je i13_ok
        cmp ah, 0x47
        je i13_ok
        cmp ah, 0x48
        je .params
        cmp ah, 0x4B
        je i13_cdstatus
        jmp i13_badfn
.wp:    mov al, 0x03                    ; write protected
        jmp i13_status
.read:  call dap_load
        jc i13_badfn
        call cd_read
        mov es, [bp+F_DS]
        mov si, [bp+F_SI]
        mov cx, [EB_X_DONE]
        mov [es:si+2], cx
        jmp i13_status
.params:
        mov es, [bp+F_DS]
        mov di, [bp+F_SI]
        cmp word [es:di], 0x1A
        jb i13_badfn
        mov word [es:di], 0x1A
        mov word [es:di+2], 0x0074      ; removable, lockable, change line
        mov dword [es:di+4], 0xFFFFFFFF
        mov dword [es:di+8], 0xFFFFFFFF
        mov dword [es:di+12], 0xFFFFFFFF
        mov dword [es:di+20], 0
        mov word [es:di+24], 2048
        ; READ CAPACITY gives the last LBA (big-endian)
        push es
        push di
        call atapi_clear_pkt
        mov byte [EB_PKT], 0x25
        push ds
        pop es
        mov di, EB_SENSE
        call atapi_packet
        pop di
        pop es
        mov eax, 0
        jc .nocap
        mov eax, [EB_SENSE]
        xchg al, ah
        rol eax, 16
        xchg al, ah
        inc eax
.nocap: mov [es:di+16], eax
        jmp i13_ok

; AH=4Bh: AL=00h terminate emulation / AL=01h get status.  Copies the
; specification packet to DS:SI.  Fails if we did not boot from CD.
i13_cdstatus:
        cmp byte [EB_CDSPEC], 0
        je i13_badfn
        cmp byte [bp+F_AL], 1
        ja i13_badfn
        mov es, [bp+F_DS]
        mov di, [bp+F_SI]
        mov si, EB_CDSPEC
        mov cx, 0x13
        rep movsb
        jmp i13_ok
