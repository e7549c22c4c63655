// The app's root module that the NestJS samples bootstrap.
export class AppModule {}
