// The Sleuth Kit's C interface (Debian's libtsk-dev, built with libewf, libvmdk and libvhdi):
// disk images, volume systems and file systems. Only the C headers: libtsk.h also pulls in C++.
#include <tsk/base/tsk_base.h>
#include <tsk/img/tsk_img.h>
#include <tsk/vs/tsk_vs.h>
#include <tsk/fs/tsk_fs.h>
