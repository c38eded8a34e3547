// libvshadow (Debian's libvshadow-dev): Windows volume shadow copies, read through a libbfio
// handle (libbfio-dev) so a volume inside any image container TSK opens can be given to it.
#include <libbfio.h>
#include <libvshadow.h>
