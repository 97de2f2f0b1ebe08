/// Opcodes whose meaning depends on ModRM.reg (SDM vol. 2, table A-6),
/// as the CPU implements them. Format as in `OneByteMap`; a missing
/// reg value is #UD. MOV to/from a segment register is here because only
/// six segment registers exist (and CS cannot be loaded): reg 6, 7 (and 1
/// for 8E) are #UD whatever the state.
enum GroupMaps {
    static let text = """
    80/0 add Eb,Ib L
    80/1 or Eb,Ib L
    80/2 adc Eb,Ib L
    80/3 sbb Eb,Ib L
    80/4 and Eb,Ib L
    80/5 sub Eb,Ib L
    80/6 xor Eb,Ib L
    80/7 cmp Eb,Ib
    81/0 add Ev,Iz L
    81/1 or Ev,Iz L
    81/2 adc Ev,Iz L
    81/3 sbb Ev,Iz L
    81/4 and Ev,Iz L
    81/5 sub Ev,Iz L
    81/6 xor Ev,Iz L
    81/7 cmp Ev,Iz
    82/0 add Eb,Ib L
    82/1 or Eb,Ib L
    82/2 adc Eb,Ib L
    82/3 sbb Eb,Ib L
    82/4 and Eb,Ib L
    82/5 sub Eb,Ib L
    82/6 xor Eb,Ib L
    82/7 cmp Eb,Ib
    83/0 add Ev,Ibs L
    83/1 or Ev,Ibs L
    83/2 adc Ev,Ibs L
    83/3 sbb Ev,Ibs L
    83/4 and Ev,Ibs L
    83/5 sub Ev,Ibs L
    83/6 xor Ev,Ibs L
    83/7 cmp Ev,Ibs
    8C/0 mov EwRv,Sw
    8C/1 mov EwRv,Sw
    8C/2 mov EwRv,Sw
    8C/3 mov EwRv,Sw
    8C/4 mov EwRv,Sw
    8C/5 mov EwRv,Sw
    8E/0 mov Sw,EwRv
    8E/2 mov Sw,EwRv
    8E/3 mov Sw,EwRv
    8E/4 mov Sw,EwRv
    8E/5 mov Sw,EwRv
    8F/0 pop Ev S
    C0/0 rol Eb,Ib
    C0/1 ror Eb,Ib
    C0/2 rcl Eb,Ib
    C0/3 rcr Eb,Ib
    C0/4 shl Eb,Ib
    C0/5 shr Eb,Ib
    C0/6 shl Eb,Ib
    C0/7 sar Eb,Ib
    C1/0 rol Ev,Ib
    C1/1 ror Ev,Ib
    C1/2 rcl Ev,Ib
    C1/3 rcr Ev,Ib
    C1/4 shl Ev,Ib
    C1/5 shr Ev,Ib
    C1/6 shl Ev,Ib
    C1/7 sar Ev,Ib
    C6/0 mov Eb,Ib
    C7/0 mov Ev,Iz
    D0/0 rol Eb,1
    D0/1 ror Eb,1
    D0/2 rcl Eb,1
    D0/3 rcr Eb,1
    D0/4 shl Eb,1
    D0/5 shr Eb,1
    D0/6 shl Eb,1
    D0/7 sar Eb,1
    D1/0 rol Ev,1
    D1/1 ror Ev,1
    D1/2 rcl Ev,1
    D1/3 rcr Ev,1
    D1/4 shl Ev,1
    D1/5 shr Ev,1
    D1/6 shl Ev,1
    D1/7 sar Ev,1
    D2/0 rol Eb,CL
    D2/1 ror Eb,CL
    D2/2 rcl Eb,CL
    D2/3 rcr Eb,CL
    D2/4 shl Eb,CL
    D2/5 shr Eb,CL
    D2/6 shl Eb,CL
    D2/7 sar Eb,CL
    D3/0 rol Ev,CL
    D3/1 ror Ev,CL
    D3/2 rcl Ev,CL
    D3/3 rcr Ev,CL
    D3/4 shl Ev,CL
    D3/5 shr Ev,CL
    D3/6 shl Ev,CL
    D3/7 sar Ev,CL
    F6/0 test Eb,Ib
    F6/1 test Eb,Ib
    F6/2 not Eb L
    F6/3 neg Eb L
    F6/4 mul Eb
    F6/5 imul Eb
    F6/6 div Eb
    F6/7 idiv Eb
    F7/0 test Ev,Iz
    F7/1 test Ev,Iz
    F7/2 not Ev L
    F7/3 neg Ev L
    F7/4 mul Ev
    F7/5 imul Ev
    F7/6 div Ev
    F7/7 idiv Ev
    FE/0 inc Eb L
    FE/1 dec Eb L
    FF/0 inc Ev L
    FF/1 dec Ev L
    FF/2 call Ev S
    FF/3m call Mp S att=lcall
    FF/4 jmp Ev S
    FF/5m jmp Mp S att=ljmp
    FF/6 push Ev S
    0F00/0 sldt EwRv
    0F00/1 str EwRv
    0F00/2 lldt Ew
    0F00/3 ltr Ew
    0F00/4 verr Ew
    0F00/5 verw Ew
    0F01/0m sgdt M SA
    0F01/1m sidt M SA
    0F01/2m lgdt M SA
    0F01/3m lidt M SA
    0F01/4 smsw EwRv
    0F01/6 lmsw Ew
    0F01/7m invlpg Mb
    0F18/0m prefetchnta Mb
    0F18/1m prefetcht0 Mb
    0F18/2m prefetcht1 Mb
    0F18/3m prefetcht2 Mb
    0F18/0r nop Ev
    0F18/1r nop Ev
    0F18/2r nop Ev
    0F18/3r nop Ev
    0F18/4 nop Ev
    0F18/5 nop Ev
    0F18/6 nop Ev
    0F18/7 nop Ev
    0FBA/4 bt Ev,Ib
    0FBA/5 bts Ev,Ib L
    0FBA/6 btr Ev,Ib L
    0FBA/7 btc Ev,Ib L
    0FC7/1m cmpxchg8b Mq L
    """
}
