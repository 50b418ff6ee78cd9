/* The table of services that --service chooses from. */
#include "service.h"

#include <string.h>

static const struct service *const services[] = { &service_echo, &service_http };

const struct service *service_find(const char *name)
{
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		if (strcmp(services[i]->name, name) == 0)
			return services[i];
	return NULL;
}

const char *service_names(void)
{
	return "echo, http";
}
