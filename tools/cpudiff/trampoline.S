/*
 * cpudiff trampoline (i386, AT&T syntax).
 *
 * cd_exec() loads the case's EFLAGS and all eight general registers from
 * cd_in_flags / cd_in_regs and jumps to the generated code (cd_entry).
 * The generated code ends with a jump to cd_exit, which stores the eight
 * registers into cd_out_regs without touching the stack or the flags, then
 * returns to the host stack saved in cd_host_esp and captures EFLAGS.
 */
        .text
        .globl  cd_exec
        .type   cd_exec, @function
cd_exec:
        pushl   %ebp
        pushl   %ebx
        pushl   %esi
        pushl   %edi
        pushfl
        movl    %esp, cd_host_esp
        pushl   cd_in_flags
        popfl
        movl    cd_in_regs+0, %eax
        movl    cd_in_regs+4, %ecx
        movl    cd_in_regs+8, %edx
        movl    cd_in_regs+12, %ebx
        movl    cd_in_regs+20, %ebp
        movl    cd_in_regs+24, %esi
        movl    cd_in_regs+28, %edi
        movl    cd_in_regs+16, %esp
        jmp     *cd_entry

        .globl  cd_exit
        .type   cd_exit, @function
cd_exit:
        movl    %eax, cd_out_regs+0
        movl    %ecx, cd_out_regs+4
        movl    %edx, cd_out_regs+8
        movl    %ebx, cd_out_regs+12
        movl    %esp, cd_out_regs+16
        movl    %ebp, cd_out_regs+20
        movl    %esi, cd_out_regs+24
        movl    %edi, cd_out_regs+28
        movl    cd_host_esp, %esp
        pushfl
        popl    cd_out_flags
        popfl
        popl    %edi
        popl    %esi
        popl    %ebx
        popl    %ebp
        ret

        .section .note.GNU-stack,"",@progbits
