// OS glue types for the espidf type-check configuration (never run).
#ifndef USOCKET_ESPIDF_CHECK_SYS_ARCH_H
#define USOCKET_ESPIDF_CHECK_SYS_ARCH_H
typedef void *sys_sem_t;
typedef void *sys_mutex_t;
typedef void *sys_mbox_t;
typedef void *sys_thread_t;
#define SYS_MBOX_NULL NULL
#define SYS_SEM_NULL NULL
#endif
