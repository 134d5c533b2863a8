import { Module } from '@nestjs/common';
import { DestinationLimiter } from 'src/destinations/destination-limiter.service';
import { DestinationMetrics } from 'src/destinations/destination-metrics.service';
import { DestinationRegistry } from 'src/destinations/destination-registry.service';
import { DestinationsController } from 'src/destinations/destinations.controller';
import { DestinationsService } from 'src/destinations/destinations.service';

/** Destinations (API.md §10): the API, the shared limiter the step runner asks, their metrics. */
@Module({
  controllers: [DestinationsController],
  providers: [DestinationRegistry, DestinationLimiter, DestinationsService, DestinationMetrics],
  exports: [DestinationLimiter],
})
export class DestinationsModule {}
