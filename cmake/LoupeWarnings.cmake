# Warning and sanitizer flags shared by every target.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wpointer-arith -Wformat=2 -Wno-unused-parameter -fno-strict-aliasing)
if(LOUPE_WERROR)
  add_compile_options(-Werror)
endif()
if(LOUPE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
