import X86
print("capsule")
