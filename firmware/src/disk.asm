; disk.asm - ATA hard disks: detection at POST, INT 13h services, boot.
;
; Disks are driven with PIO and polling.  nIEN is set in the device
; control register of both channels so the drives never raise IRQ 14/15
; while the BIOS owns them; an operating system's own driver re-enables
; interrupts when it takes over.

ata_channels:
        dw 0x1F0, 0x3F6
        dw 0x170, 0x376

; ---------------------------------------------------------------------
; ata_delay400: ~400 ns settle time after selecting a device or writing a
; command, done the standard way by reading alternate status 4 times.
; In: DS:BX = drive entry.
ata_delay400:
        push ax
        push dx
        mov dx, [bx+D_CTRL]
        in al, dx
        in al, dx
        in al, dx
        in al, dx
        pop dx
        pop ax
        ret

; ata_wait_nbsy: poll status port DX until BSY clears.
; Out: AL = last status, CF = 1 on timeout.
ata_wait_nbsy:
        push ecx
        mov ecx, 0x00400000
.poll:  in al, dx
        test al, ST_BSY
        jz .ok
        dec ecx
        jnz .poll
        pop ecx
        stc
        ret
.ok:    pop ecx
        clc
        ret

; ---------------------------------------------------------------------
; ata_detect: probe master and slave on both legacy channels.  Found
; disks fill the EBDA drive table in order (first = 80h).  DS = EBDA.
ata_detect:
        pusha
        push es
        mov byte [EB_NDRV], 0
        xor si, si                      ; channel index * 4
.chan:
        mov dx, [cs:ata_channels+si+2]
        mov al, 0x06                    ; SRST + nIEN: reset both devices
        out dx, al
        mov cx, 100
.d1:    in al, dx
        loop .d1
        mov al, 0x02                    ; release reset, keep nIEN
        out dx, al
        mov cx, 1000
.d2:    in al, dx
        loop .d2
        mov dx, [cs:ata_channels+si]
        add dx, ATA_STATUS
        in al, dx
        cmp al, 0xFF                    ; floating bus: no controller/devices
        je .nextchan
        call ata_wait_nbsy              ; let the reset finish
        xor di, di                      ; 0x00 master, 0x10 slave
.dev:
        movzx bx, byte [EB_NDRV]
        cmp bl, MAX_DRIVES
        jae .done
        imul bx, bx, DRV_SIZE
        add bx, EB_DRV
        mov ax, [cs:ata_channels+si]
        mov [bx+D_BASE], ax
        mov ax, [cs:ata_channels+si+2]
        mov [bx+D_CTRL], ax
        mov ax, di
        mov [bx+D_SLAVE], al
        mov ax, si
        shr al, 2
        mov [bx+D_CHAN], al
        call ata_identify
        jc .nodev
        inc byte [EB_NDRV]
.nodev:
        add di, 0x10
        cmp di, 0x20
        jb .dev
.nextchan:
        add si, 4
        cmp si, 8
        jb .chan
.done:
        pop es
        popa
        ret

; ata_identify: DS:BX = entry with base/ctrl/slave filled.  Sends
; IDENTIFY DEVICE and fills in the rest.  CF = 1 if no ATA disk there.
ata_identify:
        pusha
        push es
        mov dx, [bx+D_BASE]
        add dx, ATA_DEV
        mov al, 0xA0
        or al, [bx+D_SLAVE]
        out dx, al
        call ata_delay400
        inc dx                          ; status
        in al, dx
        cmp al, 0xFF
        je .fail
        call ata_wait_nbsy
        jc .fail
        mov cl, al                      ; status after reset
        ; an ATAPI device leaves the 14h/EBh signature in LBA mid/high
        ; (and, unlike a disk, shows status 00h after reset)
        mov dx, [bx+D_BASE]
        add dx, ATA_LBA1
        in al, dx
        mov ah, al
        inc dx
        in al, dx
        cmp ax, 0x14EB
        je .atapi
        test cl, cl
        jz .fail                        ; nothing answers on this position
        jmp .ata
.atapi:
        ; ATAPI device: remember the first one as the CD-ROM drive E0h
        cmp byte [EB_CD+D_PRESENT], 0
        jne .fail
        mov ax, [bx+D_BASE]
        mov [EB_CD+D_BASE], ax
        mov ax, [bx+D_CTRL]
        mov [EB_CD+D_CTRL], ax
        mov al, [bx+D_SLAVE]
        mov [EB_CD+D_SLAVE], al
        mov al, [bx+D_CHAN]
        mov [EB_CD+D_CHAN], al
        mov bx, EB_CD
        call atapi_identify
        jmp .fail                       ; not a hard disk
.ata:
        mov dx, [bx+D_BASE]
        add dx, ATA_CMD
        mov al, 0xEC                    ; IDENTIFY DEVICE
        out dx, al
        call ata_delay400
        in al, dx
        test al, al
        jz .fail
        call ata_wait_nbsy
        jc .fail
        test al, ST_ERR | ST_DF
        jnz .fail
        test al, ST_DRQ
        jz .fail
        mov ax, SCRATCH_SEG
        mov es, ax
        xor di, di
        mov cx, 256
        mov dx, [bx+D_BASE]
        rep insw
        ; --- parse the IDENTIFY words ---
        mov byte [bx+D_PRESENT], 1
        mov ax, [es:1*2]
        mov [bx+D_PCYL], ax
        mov ax, [es:3*2]
        mov [bx+D_PHEADS], ax
        mov ax, [es:6*2]
        mov [bx+D_PSPT], ax
        mov byte [bx+D_FLAGS], 0
        ; CHS-only capacity as a fallback
        movzx eax, word [bx+D_PCYL]
        movzx ecx, word [bx+D_PHEADS]
        mul ecx
        movzx ecx, word [bx+D_PSPT]
        mul ecx
        mov [bx+D_SECTORS], eax
        mov dword [bx+D_SECTORS+4], 0
        test word [es:49*2], 0x0200     ; LBA supported
        jz .geom
        or byte [bx+D_FLAGS], DF_LBA
        mov eax, [es:60*2]
        mov [bx+D_SECTORS], eax
        test word [es:83*2], 0x0400     ; 48-bit feature set
        jz .geom
        mov eax, [es:100*2]
        mov edx, [es:102*2]
        mov ecx, eax
        or ecx, edx
        jz .geom
        or byte [bx+D_FLAGS], DF_LBA48
        mov [bx+D_SECTORS], eax
        mov [bx+D_SECTORS+4], edx
.geom:
        call ata_translate
        call copy_model
        pop es
        popa
        clc
        ret
.fail:  pop es
        popa
        stc
        ret

; copy_model: IDENTIFY data at ES:0 -> model string of entry DS:BX.
copy_model:
        pusha
        ; model string: words 27..46, two chars per word, high byte first
        lea di, [bx+D_MODEL]
        mov si, 27*2
        mov cx, 20
.mdl:   mov ax, [es:si]
        xchg al, ah
        mov [di], ax
        add si, 2
        add di, 2
        loop .mdl
        mov byte [di], 0
.trim:  dec di                          ; strip trailing blanks
        lea ax, [bx+D_MODEL]
        cmp di, ax
        jb .ok
        cmp byte [di], ' '
        jne .ok
        mov byte [di], 0
        jmp .trim
.ok:    popa
        ret

; ata_translate: choose the geometry INT 13h presents for CHS calls.
; Disks whose default geometry already fits the INT 13h limits (1024
; cylinders, <= 16 heads) keep it; larger disks use the usual LBA-assist
; scheme: 63 sectors per track and the smallest head count from
; 16/32/64/128/255 that brings the cylinder count to 1024 or less.
ata_translate:
        pusha
        mov ax, [bx+D_PCYL]
        cmp ax, 1024
        ja .assist
        cmp word [bx+D_PHEADS], 16
        ja .assist
        cmp word [bx+D_PSPT], 63
        ja .assist
        test ax, ax
        jz .assist
        mov [bx+D_LCYL], ax
        mov ax, [bx+D_PHEADS]
        mov [bx+D_LHEADS], ax
        mov ax, [bx+D_PSPT]
        mov [bx+D_LSPT], ax
        jmp .done
.assist:
        mov word [bx+D_LSPT], 63
        ; sectors beyond 32 bits are far past the CHS limit anyway
        mov eax, [bx+D_SECTORS]
        cmp dword [bx+D_SECTORS+4], 0
        je .s
        mov eax, 0xFFFFFFFF
.s:     mov esi, eax
        mov di, heads_list
.try:   movzx ecx, byte [cs:di]
        mov eax, esi
        xor edx, edx
        imul ecx, ecx, 63
        div ecx
        cmp eax, 1024
        jbe .fit
        inc di
        cmp di, heads_list_end
        jb .try
        dec di
        mov eax, 1024
.fit:   test eax, eax
        jnz .nz
        inc eax
.nz:    mov [bx+D_LCYL], ax
        movzx ax, byte [cs:di]
        mov [bx+D_LHEADS], ax
.done:  popa
        ret
heads_list:     db 16, 32, 64, 128, 255
heads_list_end:

; build_fdpt: fill the INT 41h/46h fixed disk parameter table at DS:DI
; from drive entry DS:BX (logical geometry).
build_fdpt:
        mov ax, [bx+D_LCYL]
        mov [di+0], ax                  ; cylinders
        mov al, [bx+D_LHEADS]
        mov [di+2], al                  ; heads
        mov word [di+5], 0xFFFF         ; no write precompensation
        mov byte [di+8], 0
        cmp byte [bx+D_LHEADS], 8
        jbe .c
        mov byte [di+8], 0x08           ; more than 8 heads
.c:     mov ax, [bx+D_LCYL]
        mov [di+12], ax                 ; landing zone
        mov al, [bx+D_LSPT]
        mov [di+14], al
        ret

; ---------------------------------------------------------------------
; ata_xfer: move EB_X_COUNT sectors between the disk at DS:BX and the
; buffer EB_X_BUF, starting at EB_X_LBA.  DS = EBDA.
; Out: AL = INT 13h status (0 ok), EB_X_DONE = sectors moved.
; Clobbers everything except BX, BP, DS.
ata_xfer:
        mov word [EB_X_DONE], 0
        ; normalise the buffer so one sector never wraps its segment
        mov ax, [EB_X_BUF]
        mov cx, ax
        shr cx, 4
        add [EB_X_BUF+2], cx
        and ax, 0x000F
        mov [EB_X_BUF], ax
        ; range check: LBA + count must not pass the end of the disk
        mov eax, [EB_X_LBA]
        mov edx, [EB_X_LBA+4]
        movzx ecx, word [EB_X_COUNT]
        add eax, ecx
        adc edx, 0
        cmp edx, [bx+D_SECTORS+4]
        ja .range
        jb .chunk
        cmp eax, [bx+D_SECTORS]
        ja .range
.chunk:
        mov cx, [EB_X_COUNT]
        sub cx, [EB_X_DONE]
        jz .ok
        cmp cx, 128                     ; at most 128 sectors per command
        jbe .c1
        mov cx, 128
.c1:    mov [EB_X_LEFT], cx
        movzx eax, word [EB_X_DONE]
        xor edx, edx
        add eax, [EB_X_LBA]
        adc edx, [EB_X_LBA+4]
        mov [EB_X_CUR], eax
        mov [EB_X_CUR+4], dx
        mov dx, [bx+D_BASE]
        add dx, ATA_STATUS
        call ata_wait_nbsy
        jc .timeout
        ; LBA28 reaches sector 0x0FFFFFFF; anything past needs LBA48
        movzx ecx, word [EB_X_LEFT]
        add eax, ecx
        jc .need48
        cmp eax, 0x0FFFFFFF
        ja .need48
        cmp word [EB_X_CUR+4], 0
        jne .need48
        test byte [bx+D_FLAGS], DF_LBA
        jz .nolba
        mov dx, [bx+D_BASE]
        add dx, ATA_DEV
        mov al, [EB_X_CUR+3]
        and al, 0x0F
        or al, 0xE0                     ; LBA mode
        or al, [bx+D_SLAVE]
        out dx, al
        call ata_delay400
        mov dx, [bx+D_BASE]
        add dx, ATA_COUNT
        mov al, [EB_X_LEFT]             ; 128 fits; 0 would mean 256
        out dx, al
        inc dx
        mov al, [EB_X_CUR]
        out dx, al
        inc dx
        mov al, [EB_X_CUR+1]
        out dx, al
        inc dx
        mov al, [EB_X_CUR+2]
        out dx, al
        mov al, 0x20                    ; READ SECTORS
        cmp byte [EB_X_WRITE], 0
        je .cmd
        mov al, 0x30                    ; WRITE SECTORS
        jmp .cmd
.need48:
        test byte [bx+D_FLAGS], DF_LBA48
        jz .range
        mov dx, [bx+D_BASE]
        add dx, ATA_DEV
        mov al, 0x40
        or al, [bx+D_SLAVE]
        out dx, al
        call ata_delay400
        mov dx, [bx+D_BASE]
        add dx, ATA_COUNT
        mov al, [EB_X_LEFT+1]           ; high-order bytes first...
        out dx, al
        mov al, [EB_X_LEFT]             ; ...then low-order (FIFO registers)
        out dx, al
        inc dx
        mov al, [EB_X_CUR+3]
        out dx, al
        mov al, [EB_X_CUR]
        out dx, al
        inc dx
        mov al, [EB_X_CUR+4]
        out dx, al
        mov al, [EB_X_CUR+1]
        out dx, al
        inc dx
        mov al, [EB_X_CUR+5]
        out dx, al
        mov al, [EB_X_CUR+2]
        out dx, al
        mov al, 0x24                    ; READ SECTORS EXT
        cmp byte [EB_X_WRITE], 0
        je .cmd
        mov al, 0x34                    ; WRITE SECTORS EXT
.cmd:
        mov dx, [bx+D_BASE]
        add dx, ATA_CMD
        out dx, al
.sector:
        call ata_delay400
        mov dx, [bx+D_BASE]
        add dx, ATA_STATUS
        call ata_wait_nbsy
        jc .timeout
        test al, ST_ERR | ST_DF
        jnz .error
        test al, ST_DRQ
        jz .error
        mov dx, [bx+D_BASE]
        mov cx, 256
        cmp byte [EB_X_WRITE], 0
        jne .wr
        les di, [EB_X_BUF]
        rep insw
        jmp .adv
.wr:    push ds
        lds si, [EB_X_BUF]
        rep outsw
        pop ds
.adv:   mov ax, [EB_X_BUF]
        add ax, 512
        mov cx, ax
        shr cx, 4
        add [EB_X_BUF+2], cx
        and ax, 0x000F
        mov [EB_X_BUF], ax
        inc word [EB_X_DONE]
        dec word [EB_X_LEFT]
        jnz .sector
        ; the command is complete once BSY drops after the last block
        call ata_delay400
        mov dx, [bx+D_BASE]
        add dx, ATA_STATUS
        call ata_wait_nbsy
        jc .timeout
        test al, ST_ERR | ST_DF
        jnz .error
        jmp .chunk
.ok:    xor al, al
        ret
.nolba:
.range: mov al, 0x04                    ; sector not found
        ret
.timeout:
        mov al, 0x80                    ; timeout / not ready
        ret
.error: mov al, 0x20                    ; controller / drive error
        cmp byte [EB_X_WRITE], 0
        je .e
        mov al, 0xCC                    ; write fault
.e:     ret

; ---------------------------------------------------------------------
; INT 13h - disk services.  Drive numbers 80h.. are the detected ATA
; disks in table order; there are no floppy drives.
int13_handler:
        sti
        cld
        FRAME_ENTER
        call get_ebda_ds
        mov dl, [bp+F_DL]
        mov ah, [bp+F_AH]
        cmp dl, CD_DRIVE
        jne .notcd
        cmp byte [EB_CD+D_PRESENT], 0
        jne i13_cd
.notcd: cmp dl, 0x80
        jb i13_floppy
        mov al, dl
        sub al, 0x80
        cmp al, [EB_NDRV]
        jae i13_nodrive
        movzx bx, al
        imul bx, bx, DRV_SIZE
        add bx, EB_DRV
        cmp ah, 0x18
        jbe .low
        cmp ah, 0x41
        jb i13_badfn
        cmp ah, 0x48
        ja i13_badfn
        movzx si, ah
        sub si, 0x41 - 0x19
        jmp .disp
.low:   movzx si, ah
.disp:  shl si, 1
        jmp [cs:i13_table+si]

i13_table:
        dw i13_ok, i13_getstatus, i13_readchs, i13_writechs     ; 00-03
        dw i13_verify, i13_badfn, i13_badfn, i13_badfn          ; 04-07
        dw i13_getparams, i13_ok, i13_badfn, i13_badfn          ; 08-0B
        dw i13_seek, i13_ok, i13_badfn, i13_badfn               ; 0C-0F
        dw i13_ok, i13_ok, i13_badfn, i13_badfn                 ; 10-13
        dw i13_ok, i13_gettype, i13_badfn, i13_badfn            ; 14-17
        dw i13_badfn                                            ; 18
        dw i13_extcheck, i13_extread, i13_extwrite, i13_extverify ; 41-44
        dw i13_badfn, i13_badfn, i13_ok, i13_extparams          ; 45-48

i13_floppy:
        ; no floppy drives are present
        cmp ah, 0x00
        je i13_ok_nostatus
        cmp ah, 0x15
        jne i13_badfn
        mov byte [bp+F_AH], 0           ; "no such drive"
        CLEAR_CF
        jmp i13_leave

i13_nodrive:
        cmp ah, 0x15
        jne i13_badfn
        mov byte [bp+F_AH], 0
        CLEAR_CF
        jmp i13_leave

i13_badfn:
        mov al, 0x01
        jmp i13_status

i13_ok:
        xor al, al
; i13_status: AL = status -> caller's AH, BDA 74h, CF = (AL != 0)
i13_status:
        mov [bp+F_AH], al
        push ds
        push BDA_SEG
        pop ds
        mov [BDA_HDSTATUS], al
        pop ds
        test al, al
        jz .ok
        SET_CF
        jmp i13_leave
.ok:    CLEAR_CF
i13_leave:
        FRAME_LEAVE

i13_ok_nostatus:
        mov byte [bp+F_AH], 0
        CLEAR_CF
        jmp i13_leave

; AH=01h: status of the last operation
i13_getstatus:
        push ds
        push BDA_SEG
        pop ds
        mov al, [BDA_HDSTATUS]
        pop ds
        jmp i13_status

; chs_to_lba: caller CX/DH -> EAX = LBA, CF on a bad address.
chs_to_lba:
        movzx eax, byte [bp+F_CH]
        movzx ecx, byte [bp+F_CL]
        mov edx, ecx
        and cl, 0x3F                    ; sector (1-based)
        shl dx, 2
        and dx, 0x300
        or ax, dx                       ; cylinder (10 bits)
        jecxz .bad
        cmp cx, [bx+D_LSPT]
        ja .bad
        cmp ax, [bx+D_LCYL]
        jae .bad
        movzx edx, byte [bp+F_DH]
        cmp dx, [bx+D_LHEADS]
        jae .bad
        push edx
        movzx edx, word [bx+D_LHEADS]
        mul edx                         ; cyl * heads
        pop edx
        add eax, edx
        movzx edx, word [bx+D_LSPT]
        push ecx
        mul edx
        pop ecx
        dec ecx
        add eax, ecx
        clc
        ret
.bad:   stc
        ret

; AH=02h/03h: read/write AL sectors at CHS CX/DH into ES:BX.
i13_readchs:
        mov byte [EB_X_WRITE], 0
        jmp i13_chs
i13_writechs:
        mov byte [EB_X_WRITE], 1
i13_chs:
        movzx ax, byte [bp+F_AL]
        test ax, ax
        jz i13_badfn
        mov [EB_X_COUNT], ax
        call chs_to_lba
        jc .bad
        mov [EB_X_LBA], eax
        mov dword [EB_X_LBA+4], 0
        mov ax, [bp+F_BX]
        mov [EB_X_BUF], ax
        mov ax, [bp+F_ES]
        mov [EB_X_BUF+2], ax
        call ata_xfer
        mov cl, [EB_X_DONE]
        mov [bp+F_AL], cl
        jmp i13_status
.bad:   mov byte [bp+F_AL], 0
        mov al, 0x04
        jmp i13_status

; AH=04h verify: checks the address only (the data is not read).
i13_verify:
        call chs_to_lba
        jc .bad
        jmp i13_ok
.bad:   mov al, 0x04
        jmp i13_status

; AH=0Ch seek: nothing to do on an ATA disk beyond checking the address.
i13_seek:
        jmp i13_ok

; AH=08h drive parameters (logical CHS geometry).
i13_getparams:
        mov ax, [bx+D_LCYL]
        dec ax                          ; highest cylinder number
        mov [bp+F_CH], al
        shr ax, 2
        and al, 0xC0
        or al, [bx+D_LSPT]
        mov [bp+F_CL], al
        mov al, [bx+D_LHEADS]
        dec al
        mov [bp+F_DH], al
        mov al, [EB_NDRV]
        mov [bp+F_DL], al
        mov byte [bp+F_AL], 0
        mov byte [bp+F_BL], 0
        jmp i13_ok

; AH=15h disk type: AH=3 (fixed disk), CX:DX = sectors reachable by CHS.
i13_gettype:
        movzx eax, word [bx+D_LCYL]
        movzx ecx, word [bx+D_LHEADS]
        mul ecx
        movzx ecx, word [bx+D_LSPT]
        mul ecx
        mov [bp+F_DX], ax
        shr eax, 16
        mov [bp+F_CX], ax
        mov byte [bp+F_AH], 3
        push ds
        push BDA_SEG
        pop ds
        mov byte [BDA_HDSTATUS], 0
        pop ds
        CLEAR_CF
        jmp i13_leave

; AH=41h extensions installation check.  We claim EDD 1.1 with the
; "fixed disk access" subset: functions 42h, 43h, 44h, 47h and 48h.
i13_extcheck:
        cmp word [bp+F_BX], 0x55AA
        jne i13_badfn
        mov word [bp+F_BX], 0xAA55
        mov word [bp+F_CX], 0x0001
        mov byte [bp+F_AH], 0x21
        CLEAR_CF
        jmp i13_leave

; dap_load: read the disk address packet at caller DS:SI into the
; transfer variables.  CF on a malformed packet.
dap_load:
        mov es, [bp+F_DS]
        mov si, [bp+F_SI]
        cmp byte [es:si], 0x10
        jb .bad
        mov ax, [es:si+2]
        mov [EB_X_COUNT], ax
        mov eax, [es:si+4]
        cmp eax, 0xFFFFFFFF             ; 64-bit flat buffer: not supported
        je .bad
        mov [EB_X_BUF], eax
        mov eax, [es:si+8]
        mov [EB_X_LBA], eax
        mov eax, [es:si+12]
        mov [EB_X_LBA+4], eax
        clc
        ret
.bad:   stc
        ret

; AH=42h/43h extended read/write; AH=44h extended verify.
i13_extread:
        mov byte [EB_X_WRITE], 0
        jmp i13_ext
i13_extwrite:
        mov byte [EB_X_WRITE], 1
i13_ext:
        call dap_load
        jc i13_badfn
        call ata_xfer
        mov es, [bp+F_DS]
        mov si, [bp+F_SI]
        mov cx, [EB_X_DONE]
        mov [es:si+2], cx               ; sectors actually transferred
        jmp i13_status

i13_extverify:
        call dap_load
        jc i13_badfn
        mov eax, [EB_X_LBA]
        mov edx, [EB_X_LBA+4]
        movzx ecx, word [EB_X_COUNT]
        add eax, ecx
        adc edx, 0
        cmp edx, [bx+D_SECTORS+4]
        jb i13_ok
        ja .bad
        cmp eax, [bx+D_SECTORS]
        jbe i13_ok
.bad:   mov al, 0x04
        jmp i13_status

; AH=48h extended drive parameters into the buffer at DS:SI.
i13_extparams:
        mov es, [bp+F_DS]
        mov di, [bp+F_SI]
        mov ax, [es:di]
        cmp ax, 0x1A
        jb i13_badfn
        mov word [es:di], 0x1A
        ; CHS fields are only meaningful for disks below ~8 GB
        mov word [es:di+2], 0
        cmp dword [bx+D_SECTORS+4], 0
        jne .nochs
        cmp dword [bx+D_SECTORS], 16383*16*63
        ja .nochs
        mov word [es:di+2], 0x0002
.nochs: movzx eax, word [bx+D_PCYL]
        mov [es:di+4], eax
        movzx eax, word [bx+D_PHEADS]
        mov [es:di+8], eax
        movzx eax, word [bx+D_PSPT]
        mov [es:di+12], eax
        mov eax, [bx+D_SECTORS]
        mov [es:di+16], eax
        mov eax, [bx+D_SECTORS+4]
        mov [es:di+20], eax
        mov word [es:di+24], 512
        cmp ax, 0x1E                    ; room for the EDD 2.0 DPTE pointer?
        jb .done
        mov word [es:di], 0x1E
        mov dword [es:di+26], 0xFFFFFFFF ; no DPTE
.done:  jmp i13_ok

; ---------------------------------------------------------------------
; INT 19h - bootstrap loader: load the first sector of hard disk 80h to
; 0000:7C00 and jump to it with DL = 80h.
int19_handler:
        cli
        cld
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, POST_STACK
        sti
        POST_CODE 0x20
        push BDA_SEG
        pop ds
        cmp byte [BDA_HDCOUNT], 0
        je .cd
        mov di, 3                       ; a few tries, as is customary
.try:   xor ax, ax
        mov es, ax
        mov ax, 0x0201
        mov bx, 0x7C00
        mov cx, 0x0001
        mov dx, 0x0080
        int 0x13
        jnc .loaded
        xor ax, ax
        int 0x13
        dec di
        jnz .try
        PRINT `Disk read error\r\n`
        jmp .cd
.loaded:
        cmp word [es:0x7DFE], 0xAA55
        je .boot
        PRINT `Disk 80h: no boot signature\r\n`
.cd:    call cd_boot                    ; returns only if that failed too
        int 0x18
.boot:  PRINT `Booting from hard disk 80h...\r\n`
        POST_CODE 0x21
        xor ax, ax
        mov ds, ax
        mov es, ax
        xor bx, bx
        xor cx, cx
        xor si, si
        xor di, di
        xor bp, bp
        mov dx, 0x0080
        jmp 0x0000:0x7C00

; INT 18h - no bootable device.
int18_handler:
        sti
        PRINT `No bootable device.\r\n`
        POST_CODE 0xEE
.halt:  cli
        hlt
        jmp .halt
